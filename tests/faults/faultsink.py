"""Endpoints on 127.0.0.1 that record every delivery and behave well or badly, per path.

Built on ``tests/sinks.py``'s recording ``Sink`` (the ``make_sink`` fixture serves it): each
path gets a handler that notes a ``Receipt`` (the webhook's name read from the envelope, the
time, what it meant to answer) and then answers as its behaviour says. Every behaviour is
bounded in time: a hang or a drip ends when the gateway gives up, or after ``HOLD_MAX``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from aiohttp import web
from faultcheck import Key, Receipt
from sinks import Sink

#: No held request outlives this, whatever the client does.
HOLD_MAX = 30.0
DRIP_SECONDS = 0.2
#: The "huge" answer: 1 GiB announced and streamed from one reused buffer, never built.
HUGE_BYTES = 1 << 30
_CHUNK = bytes(1 << 20)


@dataclass
class Call:
    """One request to a path: its attempt number (per webhook-id) and the status the
    behaviour means to answer, set as soon as it knows, so a receipt cut short (the gateway
    died mid-answer) still says whether the receiver took the webhook."""

    request: web.Request
    attempt: int
    status: int | None = None


Behaviour = Callable[[Call], Awaitable[web.StreamResponse]]


def webhook_key(body: bytes) -> Key | None:
    """``(awb, seq)`` from a delivered envelope: ``forwardAwb`` and the number that ends
    ``rawStatus`` (``faultload`` sends ``"IN TRANSIT <seq>"``; a plain status is seq 0)."""
    try:
        envelope = orjson.loads(body)
        awb, raw = envelope["forwardAwb"], envelope.get("rawStatus") or ""
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    tail = raw.rsplit(" ", 1)[-1]
    return (str(awb), int(tail) if tail.isdigit() else 0)


class FaultSink:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.receipts: list[Receipt] = []
        #: Requests whose handler has not finished: the deliveries in flight right now.
        self.open: dict[str, int] = defaultdict(int)
        self.attempts: dict[tuple[str, str], int] = defaultdict(int)  # (path, webhook-id) -> seen
        #: The sink's own failures: a bug here must not pass for the gateway's retries.
        self.errors: list[str] = []

    def serve(self, path: str, behaviour: Behaviour | None = None) -> str:
        """Answer ``path`` with ``behaviour`` (a prompt 200 by default); return its URL."""
        act = behaviour or ok

        async def handle(request: web.Request) -> web.StreamResponse:
            body = await request.read()  # already read (and cached) by Sink.handle
            webhook_id = request.headers.get("webhook-id", "")
            self.attempts[(path, webhook_id)] += 1
            call = Call(request, self.attempts[(path, webhook_id)])
            self.open[path] += 1
            index = len(self.receipts)
            self.receipts.append(Receipt(path, webhook_id, webhook_key(body), time.monotonic(), None))
            try:
                return await act(call)
            except Exception as exc:
                self.errors.append(f"{path}: {exc!r}")
                raise
            finally:
                self.open[path] -= 1
                receipt = self.receipts[index]
                self.receipts[index] = Receipt(receipt.path, receipt.webhook_id, receipt.key, receipt.at, call.status)

        self.sink.routes[path] = handle
        return self.sink.url(path)

    def received(self, path: str) -> list[Receipt]:
        return [r for r in self.receipts if r.path == path]


# --- behaviours ------------------------------------------------------------------------------


async def ok(call: Call) -> web.StreamResponse:
    call.status = 200
    return web.Response(text="ok")


def slow(seconds: float) -> Behaviour:
    async def act(call: Call) -> web.StreamResponse:
        call.status = 200
        await asyncio.sleep(seconds)  # the receiver's own latency: the window a fault strikes in
        return web.Response(text="ok")

    return act


def fail_first(attempts: int, status: int = 503, headers: dict[str, str] | None = None) -> Behaviour:
    """Fail each webhook's first ``attempts`` attempts (with ``status`` and ``headers``), then take it."""

    async def act(call: Call) -> web.StreamResponse:
        if call.attempt <= attempts:
            return web.Response(status=status, headers=headers, text="not yet")
        call.status = 200
        return web.Response(text="ok")

    return act


def answer(status: int, headers: dict[str, str] | None = None) -> Behaviour:
    """Always the same answer: a 302, a 410, a 429 with Retry-After..."""

    async def act(call: Call) -> web.StreamResponse:
        call.status = status
        return web.Response(status=status, headers=headers, text="no")

    return act


async def hang(call: Call) -> web.StreamResponse:
    # The sink runs with handler_cancellation: this ends when the gateway hangs up.
    await asyncio.sleep(HOLD_MAX)
    return web.Response(status=503)


async def drip(call: Call) -> web.StreamResponse:
    """A 200 whose announced body comes a byte every ``DRIP_SECONDS``."""
    total = int(HOLD_MAX / DRIP_SECONDS)
    response = web.StreamResponse(status=200, headers={"content-length": str(total)})
    await response.prepare(call.request)
    with contextlib.suppress(ConnectionError):
        for _ in range(total):
            await response.write(b".")
            await asyncio.sleep(DRIP_SECONDS)
    return response


async def huge(call: Call) -> web.StreamResponse:
    """A 200 announcing 1 GiB and streaming it as fast as the reader takes it."""
    response = web.StreamResponse(status=200, headers={"content-length": str(HUGE_BYTES)})
    await response.prepare(call.request)
    with contextlib.suppress(ConnectionError):
        for _ in range(HUGE_BYTES // len(_CHUNK)):
            await response.write(_CHUNK)
    return response


async def reset(call: Call) -> web.StreamResponse:
    """Drop the connection with a TCP reset once the request is read."""
    transport = call.request.transport
    assert transport is not None
    sock: socket.socket | None = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return web.Response(status=500)
