"""The HTTP client for deliveries: one POST, one total deadline, a capped read (SPEC §7.2).

``Sender.send`` turns every outcome into an ``AttemptResult`` and never raises (bar
cancellation), so the dispatcher handles one value, not an exception tree. Error strings
name the host, never the URL: endpoint URLs may carry credentials or tokens.
"""

from __future__ import annotations

import asyncio
import codecs
import datetime
import email.utils
import errno
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from gateway.dispatch.safety import DestinationRefused, VettingResolver, check_url

USER_AGENT = "rms-gateway/0.1"
#: Response bytes read per attempt; the rest is never read (the connection is dropped).
MAX_RESPONSE_BYTES = 64 * 1024
#: Characters of the decoded response kept for the attempt log.
EXCERPT_CHARS = 1024
_EXCERPT_BYTES = 4 * EXCERPT_CHARS  # worst case UTF-8 for EXCERPT_CHARS characters
#: aiohttp warns when asked for this on interpreters where CPython fixed the SSL leak.
_NEEDS_CLEANUP_CLOSED = sys.version_info < (3, 12, 8) or (3, 13, 0) <= sys.version_info < (3, 13, 1)


@dataclass(frozen=True, slots=True)
class AttemptResult:
    status_code: int | None  # None when no HTTP answer arrived
    duration_ms: float
    error: str | None  # None exactly when ok: a 2xx read in full within the deadline
    response_excerpt: str | None
    retry_after: float | None  # seconds, from Retry-After on 429/503

    @property
    def ok(self) -> bool:
        """A 2xx answer read within the deadline (a 200 whose body timed out is not ok)."""
        return self.status_code is not None and 200 <= self.status_code < 300 and self.error is None


@dataclass(slots=True)
class _Progress:
    """What had arrived when the attempt ended, so a timeout mid-body keeps the status."""

    status: int | None = None
    retry_after: str | None = None
    charset: str | None = None
    head: bytearray = field(default_factory=bytearray)


class Sender:
    def __init__(
        self,
        *,
        allow_private: bool = False,
        resolver: AbstractResolver | None = None,
        limit: int = 256,
        limit_per_host: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._session_resolver: AbstractResolver | None = None
        self._checked_urls: set[str] = set()

    def _get_session(self) -> aiohttp.ClientSession:
        # Built on first use: aiohttp binds the running loop at construction.
        if self._session is None:
            # The system resolver (not aiodns) so /etc/hosts and nsswitch mean what operators expect.
            resolver = self._resolver if self._resolver is not None else ThreadedResolver()
            if not self._allow_private:
                resolver = VettingResolver(resolver)
            self._session_resolver = resolver
            connector = aiohttp.TCPConnector(
                resolver=resolver,
                limit=self._limit,
                limit_per_host=self._limit_per_host,
                ttl_dns_cache=10,  # only vetted answers are cached
                enable_cleanup_closed=_NEEDS_CLEANUP_CLOSED,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None),  # asyncio.timeout in send() rules
                trust_env=False,  # a proxy would resolve names itself, past our vetting
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": USER_AGENT},
                # No compression: the 64 KiB cap must bound memory, not the compressed size.
                skip_auto_headers=("Accept-Encoding",),
                auto_decompress=False,
            )
        return self._session

    # ASYNC109: the deadline is data (the endpoint's configured timeout), and it is applied
    # below with asyncio.timeout around the whole exchange, which is what the rule asks for.
    async def send(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float,  # noqa: ASYNC109
        now: float | None = None,
    ) -> AttemptResult:
        """POST ``body`` as given to ``url`` with ``headers`` as given, within ``timeout`` s.

        ``now``: the caller's wall clock (epoch seconds) at the attempt, against which a
        ``Retry-After`` HTTP-date is read; the host's time when omitted.
        """
        start = self._clock()
        progress = _Progress()
        error: str | None = None
        try:
            # Literal hosts never reach the resolver, so they are vetted here. The verdict on
            # a URL string never changes, so each URL is checked once.
            if url not in self._checked_urls:
                check_url(url, allow_private=self._allow_private)
                if len(self._checked_urls) < 10_000:
                    self._checked_urls.add(url)
            async with asyncio.timeout(timeout):
                await self._exchange(url, body, headers, progress)
        except Exception as exc:  # CancelledError is a BaseException and propagates
            error = describe_error(exc, url)
        status = progress.status
        if error is None and status is not None and not 200 <= status < 300:
            error = f"redirect not followed ({status})" if 300 <= status < 400 else f"http status {status}"
        return AttemptResult(
            status_code=status,
            duration_ms=(self._clock() - start) * 1000.0,
            error=error,
            response_excerpt=None if status is None else _excerpt(progress.head, progress.charset),
            retry_after=(
                parse_retry_after(progress.retry_after, time.time() if now is None else now)
                if status in (429, 503)
                else None
            ),
        )

    async def _exchange(self, url: str, body: bytes, headers: Mapping[str, str], progress: _Progress) -> None:
        session = self._get_session()
        async with session.post(url, data=body, headers=headers, allow_redirects=False) as resp:
            progress.status = status = resp.status
            if status == 429 or status == 503:
                progress.retry_after = resp.headers.get("Retry-After")
            received = 0
            while received < MAX_RESPONSE_BYTES:
                chunk = await resp.content.read(MAX_RESPONSE_BYTES - received)
                if not chunk:
                    return
                if not received:
                    # Parsing Content-Type for a charset is only worth it for a body to excerpt.
                    progress.charset = resp.charset
                received += len(chunk)
                if len(progress.head) < _EXCERPT_BYTES:
                    progress.head += chunk[: _EXCERPT_BYTES - len(progress.head)]
            if not resp.content.at_eof():
                # The unread rest is abandoned, never drained: the connection goes with it.
                # (aiohttp's release() also closes an un-drained connection; being explicit
                # keeps the cap from depending on that.)
                resp.close()

    async def close(self) -> None:
        """Close the session and the resolver (an injected one included: the sender owns it)."""
        session, resolver = self._session, self._session_resolver
        self._session = self._session_resolver = None
        if session is not None:
            await session.close()
        if resolver is not None:
            # TCPConnector closes only resolvers it built itself.
            await resolver.close()


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from ``Retry-After``: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).

    ``now`` is wall-clock epoch seconds, because an HTTP-date is. Past dates give 0; anything
    unreadable gives ``None`` (the retry policy then uses its schedule).
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        # Still a valid (if absurd) ask to wait long, so it meets the clamp like any other;
        # 2**31 is RFC 9111's reading of an unrepresentable delta-seconds.
        return min(float(value), 2.0**31)  # a 400-digit value becomes inf, not OverflowError
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # asctime form (or "-0000"): HTTP-dates are GMT by definition
        when = when.replace(tzinfo=datetime.UTC)
    seconds = when.timestamp() - now
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _excerpt(head: bytes | bytearray, charset: str | None) -> str:
    if not head:
        return ""
    # The charset is the receiver's to name, and it may name any codec: bytes-to-bytes ones
    # (hex, zlib: never run, a bz2 "excerpt" could be a decompression bomb), ones refusing
    # "replace" (idna) or the data (utf-16 without a BOM). Those fall back to UTF-8 rather
    # than cost the attempt its outcome.
    if charset:
        try:
            if codecs.lookup(charset)._is_text_encoding:
                return _decode(head, charset)
        except Exception:  # whatever the codec raises, UTF-8 follows
            pass
    return _decode(head, "utf-8")


def _decode(head: bytes | bytearray, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    # final=False: a character cut by the byte cap is dropped, not shown as U+FFFD.
    text = decoder.decode(head, final=False)[:EXCERPT_CHARS]
    # Completions are stored in batches, so an excerpt the store cannot take would lose
    # every outcome in the batch: lone surrogates (utf-7, utf-16 can yield them) do not
    # encode as UTF-8, and PostgreSQL text refuses NUL.
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


_PLAIN_ERRORS: tuple[tuple[type[BaseException], str], ...] = (
    (aiohttp.ClientConnectorCertificateError, "tls certificate rejected"),
    (aiohttp.ClientSSLError, "tls handshake failed"),
    (aiohttp.ServerDisconnectedError, "server disconnected"),
    (aiohttp.ClientConnectionResetError, "connection reset"),
    (aiohttp.ClientPayloadError, "malformed response body"),
    (aiohttp.ClientResponseError, "malformed response"),
    (aiohttp.InvalidURL, "invalid url"),
    (ValueError, "invalid request header or url"),  # e.g. CR/LF in a header value
)


def describe_error(exc: BaseException, url: str) -> str:
    """A short, credential-free description of why an attempt got no usable answer.

    Built from the exception's type, never ``str(exc)``: aiohttp's messages embed the full
    URL, userinfo and query included.
    """
    if isinstance(exc, TimeoutError):  # asyncio.timeout, and aiohttp's own timeout errors
        return "timeout"
    # From check_url directly; from the resolver as the cause of ClientConnectorDNSError.
    refused = exc if isinstance(exc, DestinationRefused) else exc.__cause__
    if isinstance(refused, DestinationRefused):
        return f"destination refused: {refused}"
    try:
        parsed = URL(url)
        where = f"{parsed.host}:{parsed.port}"
    except (TypeError, ValueError):
        where = "?"
    for kind, text in _PLAIN_ERRORS:
        if isinstance(exc, kind):
            return f"{text} ({where})"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"dns lookup failed ({where})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if exc.os_error.errno == errno.ECONNREFUSED or isinstance(exc.os_error, ConnectionRefusedError):
            return f"connection refused ({where})"
        return f"connection failed ({where}): {exc.os_error.strerror or type(exc.os_error).__name__}"
    if isinstance(exc, OSError):
        return f"connection error ({where}): {exc.strerror or type(exc).__name__}"
    return f"request failed ({where}): {type(exc).__name__}"
