"""The HTTP edge: what one client may make the server hold before the app has a request.

uvicorn's httptools protocol buffers a header without limit (llhttp hands the value over in
pieces and httptools joins them by bytes concatenation, on the event loop), sets no
deadline on a request's head or body, queues every request however many are in progress,
and closes a connection outright after a response sent before its request body was read.
``EdgeProtocol`` keeps uvicorn's parser and request cycle and adds, per connection:

- a cap on the head's bytes and header count (``431`` and close), checked *before* bytes
  reach the parser, so an endless header line costs at most the cap;
- a deadline for the head (``408`` and close) and one for the body (close: the app sees
  the client gone);
- load shedding: past ``max_requests_in_progress`` a request is answered ``503`` with
  ``Retry-After`` at once and never reaches the app (so nothing shed is acknowledged);
  health, readiness and metrics are never shed;
- a lingering close (RFC 9112 §9.6): a response sent while the request body is still
  arriving half-closes, then reads and drops what the client still sends, bounded in
  bytes and time, so the client reads the answer instead of a reset;
- a graceful stop that serves, with ``connection: close``, a request that reaches an idle
  keep-alive connection during a short grace, and half-closes the idle ones after it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.errors import problem_body
from gateway.logs import get_logger

log = get_logger("gateway.edge")

#: Paths never shed: an orchestrator must see the process alive and ready under load.
UNSHED_PATHS = frozenset((b"/healthz", b"/readyz", b"/metrics"))
#: At most one ``server.shedding`` warning per this many seconds, with the count since.
SHED_LOG_INTERVAL = 10.0


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    max_header_bytes: int = 16 * 1024
    max_headers: int = 100
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_requests_in_progress: int = 1024
    #: Lingering close: what is read and dropped after an early response, at most.
    linger_bytes: int = 4 * 1024 * 1024
    linger_timeout: float = 2.0
    #: On SIGTERM an idle keep-alive connection is kept this long for a request already on its way.
    shutdown_idle_grace: float = 0.5
    retry_after_seconds: int = 1


def _problem_bytes(status: int, reason: bytes, title: str, detail: str, extra: bytes = b"") -> bytes:
    body = orjson.dumps(problem_body(status, title, detail, None))
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\n" % (status, reason),
            b"content-type: application/problem+json\r\n",
            b"content-length: %d\r\n" % len(body),
            extra,
            b"connection: close\r\n\r\n",
            body,
        )
    )


_HEAD_TOO_LARGE = _problem_bytes(
    431, b"Request Header Fields Too Large", "Request header fields too large", "the request head exceeds the limit"
)
_HEAD_TIMEOUT = _problem_bytes(408, b"Request Timeout", "Request timeout", "the request head did not arrive in time")
_BAD_REQUEST = _problem_bytes(400, b"Bad Request", "Bad request", "the request is not valid HTTP/1.1")


class _Refused(Exception):
    """Raised from a parser callback to stop parsing; the protocol answers ``431``."""


class _Sweeper:
    """Fires the expired deadlines of one event loop's connections, every ``tick`` seconds.

    One timer for all connections instead of one per request phase: a request then costs
    a float per phase, not a timer armed and cancelled twice
    (docs/decisions/0009-one-timer-for-deadlines.md)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, tick: float) -> None:
        self.loop = loop
        self.tick = tick
        #: The loop's time at the last sweep: deadlines are set from it, a tick coarse
        #: (cheaper than asking the loop for every request).
        self.now = loop.time()
        self.members: set[EdgeProtocol] = set()
        self._handle: asyncio.TimerHandle | None = None

    def add(self, protocol: EdgeProtocol) -> None:
        self.members.add(protocol)
        if self._handle is None:
            self.now = self.loop.time()
            self._handle = self.loop.call_later(self.tick, self._sweep)

    def discard(self, protocol: EdgeProtocol) -> None:
        self.members.discard(protocol)

    def _sweep(self) -> None:
        now = self.now = self.loop.time()
        for protocol in [p for p in self.members if p.deadline <= now]:
            protocol.deadline_passed()
        self._handle = self.loop.call_later(self.tick, self._sweep) if self.members else None


class _Shedding:
    """Counts shed requests and logs them at most once per ``SHED_LOG_INTERVAL``."""

    count = 0
    logged_at = 0.0

    @classmethod
    def note(cls) -> None:
        cls.count += 1
        now = time.monotonic()
        if now - cls.logged_at >= SHED_LOG_INTERVAL:
            log.warning("server.shedding", shed=cls.count, detail="too many requests in progress; answered 503")
            cls.count = 0
            cls.logged_at = now


def shed_app(retry_after: int) -> Any:
    body = orjson.dumps(
        problem_body(503, "Service unavailable", "too many requests in progress; nothing was acknowledged", None)
    )
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(retry_after).encode()),
        (b"connection", b"close"),
    ]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


class _LingeringTransport:
    """What a request cycle writes to: its ``close()`` lingers while the request body is
    still arriving, instead of closing a socket with unread data (a reset)."""

    __slots__ = ("_protocol", "_transport")

    def __init__(self, protocol: EdgeProtocol, transport: asyncio.Transport) -> None:
        self._protocol = protocol
        self._transport = transport

    def write(self, data: bytes) -> None:
        self._transport.write(data)

    def is_closing(self) -> bool:
        return self._transport.is_closing() or self._protocol.lingering

    def close(self) -> None:
        self._protocol.close_after_response()


# Called directly rather than through super(): these run for every request.
_on_headers_complete = HttpToolsProtocol.on_headers_complete
_on_message_complete = HttpToolsProtocol.on_message_complete


class EdgeProtocol(HttpToolsProtocol):
    limits: ClassVar[EdgeLimits] = EdgeLimits()
    _sweepers: ClassVar[dict[asyncio.AbstractEventLoop, _Sweeper]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        #: When the current phase (head, body, linger, stop grace) runs out, and what then.
        self.deadline = math.inf
        self._on_deadline: Callable[[], None] | None = None
        self._body_pending = False
        self.lingering = False
        self._linger_left = 0
        self._stopping = False
        self._shed_app = shed_app(self.limits.retry_after_seconds)
        self._cycle_transport: _LingeringTransport | None = None
        self._sweeper: _Sweeper

    @classmethod
    def with_limits(cls, limits: EdgeLimits) -> type[EdgeProtocol]:
        return type("EdgeProtocol", (cls,), {"limits": limits, "_sweepers": {}})

    # ------------------------------------------------------------------ connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn's own override
        super().connection_made(transport)
        self._cycle_transport = _LingeringTransport(self, transport)
        sweeper = self._sweepers.get(self.loop)
        if sweeper is None:
            self._sweepers.clear()  # a loop of an earlier server in this process is over
            limits = self.limits
            tick = min(limits.header_timeout, limits.body_timeout, limits.linger_timeout, limits.shutdown_idle_grace)
            sweeper = self._sweepers[self.loop] = _Sweeper(self.loop, min(max(tick / 4, 0.02), 1.0))
        sweeper.add(self)
        self._sweeper = sweeper
        # A connection that never sends a byte is held no longer than a slow head.
        self._expect(self.limits.header_timeout, self._head_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._sweeper.discard(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            self._linger_left -= len(data)
            if self._linger_left <= 0:
                self.transport.close()
            return
        self._unset_keepalive_if_required()
        if self._in_head:
            if self._on_deadline is None:  # _expect, inlined: this runs for every request
                self.deadline = self._sweeper.now + self.limits.header_timeout
                self._on_deadline = self._head_timed_out
            room = self.limits.max_header_bytes - self._head_bytes
            if len(data) > room:
                # The parser sees no more of a head than the cap: an endless header line
                # costs the cap, not the client's patience.
                head, data = data[:room], data[room:]
                self._head_bytes += len(head)
                if (head and not self._feed(head)) or self.transport.is_closing():
                    return
                if self._in_head:
                    self._refuse_head()
                    return
            else:
                self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._parse_failed(exc)
            return
        if self._body_pending:
            cycle = self.cycle
            if cycle is not None and cycle.transport is self.transport:
                # The response may come before the body: its close must linger. (Most
                # requests arrive whole in one read and never need this.)
                cycle.transport = self._cycle_transport  # type: ignore[assignment]  # a stand-in, set at connection_made

    def _feed(self, data: bytes) -> bool:
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._parse_failed(exc)
            return False
        return True

    def _parse_failed(self, exc: Exception) -> None:
        if isinstance(exc, httptools.HttpParserUpgrade):
            self._unsupported_upgrade_warning()  # no upgrade is served; the request goes on
        elif isinstance(exc.__context__, _Refused):
            self._refuse_head()
        else:
            self.transport.write(_BAD_REQUEST)
            self.transport.close()

    def _refuse_head(self) -> None:
        self.transport.write(_HEAD_TOO_LARGE)
        self.transport.close()

    # ------------------------------------------------------------------ parser callbacks

    def on_headers_complete(self) -> None:
        # Counted once here rather than per header: the byte cap already bounds the work.
        if len(self.headers) > self.limits.max_headers:
            raise _Refused
        self._in_head = False
        self._body_pending = True
        self.deadline = self._sweeper.now + self.limits.body_timeout
        self._on_deadline = self._body_timed_out
        shed = (
            len(self.tasks) >= self.limits.max_requests_in_progress and self.url.partition(b"?")[0] not in UNSHED_PATHS
        )
        if shed:
            _Shedding.note()
            self.app = self._shed_app
        try:
            _on_headers_complete(self)
        finally:
            if shed:
                self.app = self.config.loaded_app
        if self._stopping and self.cycle is not None:
            self.cycle.keep_alive = False

    def on_message_complete(self) -> None:
        self._on_deadline = None
        self.deadline = math.inf
        self._body_pending = False
        self._in_head = True
        self._head_bytes = 0
        _on_message_complete(self)

    # ------------------------------------------------------------------ closing

    def close_after_response(self) -> None:
        """The response is written and the connection must close. If the request body is
        still arriving, half-close and drop what follows, bounded, then close."""
        if self.transport.is_closing() or self.lingering:
            return
        if not self._body_pending or not self.transport.can_write_eof():
            self.transport.close()
            return
        self.lingering = True
        self._linger_left = self.limits.linger_bytes
        self.transport.write_eof()
        self.flow.resume_reading()
        self._expect(self.limits.linger_timeout, self.transport.close)

    def shutdown(self) -> None:
        self._stopping = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
            return
        if self._in_head and self._head_bytes:
            return  # a request is arriving: it is served, with connection: close
        # Idle: a request may already be on its way; serve it if it comes soon, else end
        # with a half-close (a close with unread bytes would reset the client).
        self._expect(self.limits.shutdown_idle_grace, self._end_idle)

    def _end_idle(self) -> None:
        if self._in_head and not self._head_bytes and not self.transport.is_closing():
            self._body_pending = True  # linger, as after an early answer
            self.close_after_response()

    def timeout_keep_alive_handler(self) -> None:
        if not self.transport.is_closing():
            self._body_pending = True
            self.close_after_response()

    # ------------------------------------------------------------------ deadlines

    def _expect(self, delay: float, then: Callable[[], None]) -> None:
        self.deadline = self._sweeper.now + delay
        self._on_deadline = then

    def deadline_passed(self) -> None:
        then, self._on_deadline, self.deadline = self._on_deadline, None, math.inf
        if then is not None:
            then()

    def _head_timed_out(self) -> None:
        if self._in_head and not self.transport.is_closing():
            if self._head_bytes:
                self.transport.write(_HEAD_TIMEOUT)
            self.transport.close()

    def _body_timed_out(self) -> None:
        # The app, if it is reading, sees the client gone (``request.aborted``).
        if self._body_pending and not self.transport.is_closing():
            self.transport.close()
