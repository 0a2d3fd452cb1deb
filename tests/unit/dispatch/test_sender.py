"""The delivery HTTP client against real aiohttp sinks on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time

import aiohttp
import pytest
from aiohttp import web
from sinks import FakeResolver, Handler, Sink, SinkFactory
from standardwebhooks import Webhook

from gateway.dispatch.retry import MAX_RETRY_AFTER, RetryPolicy
from gateway.dispatch.sender import MAX_RESPONSE_BYTES, USER_AGENT, Sender, parse_retry_after
from gateway.dispatch.signing import signature_header

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
JSON = {"content-type": "application/json"}
DEADLINE = 0.3
MARGIN = 0.25  # scheduling slack on a loaded CI box


def answer(status: int, text: str = "", headers: dict[str, str] | None = None) -> Handler:
    async def handler(_: web.Request) -> web.Response:
        return web.Response(status=status, text=text, headers=headers)

    return handler


def hang(arrived: asyncio.Event | None = None) -> Handler:
    """A handler that never answers (until the client goes away and it is cancelled)."""

    async def handler(_: web.Request) -> web.Response:
        if arrived is not None:
            arrived.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return handler


async def test_2xx_delivers_exact_bytes_and_headers(sender: Sender, sink: Sink) -> None:
    body = b'{"eventId":"e1",  "note":"\xe2\x82\xac"}'
    result = await sender.send(sink.url("/hook?k=v"), body, {**JSON, "X-Org-Key": "abc"}, timeout=5)
    assert result.ok and result.status_code == 200 and result.error is None
    assert result.response_excerpt == "ok" and result.retry_after is None and result.duration_ms > 0
    [got] = sink.received
    assert (got.method, got.path, got.body) == ("POST", "/hook?k=v", body)
    assert got.headers["content-type"] == "application/json" and got.headers["x-org-key"] == "abc"
    assert got.headers["user-agent"] == USER_AGENT and got.headers["content-length"] == str(len(body))


async def test_signature_verifies_at_the_sink(sender: Sender, sink: Sink) -> None:
    body, ts = b'{"eventId":"e2"}', int(time.time())
    headers = {**JSON, "webhook-id": "e2", "webhook-timestamp": str(ts)}
    headers["webhook-signature"] = signature_header([SECRET], "e2", ts, body)
    assert (await sender.send(sink.url(), body, headers, timeout=5)).ok
    [got] = sink.received
    assert Webhook(SECRET).verify(got.body, dict(got.headers)) == {"eventId": "e2"}


async def test_cookies_are_not_kept_between_deliveries(sender: Sender, sink: Sink) -> None:
    sink.routes["/hook"] = answer(200, headers={"Set-Cookie": "sid=1; Path=/"})
    for _ in range(2):
        assert (await sender.send(sink.url(), b"{}", JSON, timeout=5)).ok
    assert all("cookie" not in r.headers for r in sink.received)


async def test_redirect_is_a_failure_and_never_followed(sender: Sender, sink: Sink) -> None:
    sink.routes["/hook"] = answer(302, headers={"Location": sink.url("/elsewhere")})
    result = await sender.send(sink.url(), b"{}", JSON, timeout=5)
    assert (result.status_code, result.error, result.ok) == (302, "redirect not followed (302)", False)
    assert [r.path for r in sink.received] == ["/hook"]


@pytest.mark.parametrize("status", [410, 500, 400, 404, 502])
async def test_other_statuses_are_failures_with_an_excerpt(sender: Sender, sink: Sink, status: int) -> None:
    sink.routes["/hook"] = answer(status, "gone away", {"Retry-After": "9"})
    result = await sender.send(sink.url(), b"{}", JSON, timeout=5)
    assert (result.status_code, result.error, result.ok) == (status, f"http status {status}", False)
    assert result.response_excerpt == "gone away"
    assert result.retry_after is None  # only 429/503 throttle


async def test_429_retry_after_seconds(sender: Sender, sink: Sink) -> None:
    sink.routes["/hook"] = answer(429, headers={"Retry-After": "2"})
    result = await sender.send(sink.url(), b"{}", JSON, timeout=5)
    assert (result.status_code, result.retry_after) == (429, 2.0)


async def test_503_retry_after_http_date(sender: Sender, sink: Sink) -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    sink.routes["/hook"] = answer(503, headers={"Retry-After": when})
    result = await sender.send(sink.url(), b"{}", JSON, timeout=5)
    assert result.status_code == 503 and result.retry_after is not None
    assert 117 <= result.retry_after <= 121  # HTTP-dates have whole seconds


def test_parse_retry_after() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("2", now) == 2.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after(email.utils.formatdate(now + 90, usegmt=True), now) == 90.0
    assert parse_retry_after(email.utils.formatdate(now - 90, usegmt=True), now) == 0.0
    for junk in (None, "", "-1", "1.5", "soon", "٣", "Wed, 99 Foo 2024 00:00:00 GMT"):
        assert parse_retry_after(junk, now) is None, junk


def test_huge_retry_after_is_a_long_wait_then_clamped() -> None:
    """An overflowing delta-seconds is still an ask to wait: RFC 9111 reads it as 2**31."""
    assert parse_retry_after("9" * 400, 0.0) == 2.0**31
    assert RetryPolicy((1.0,), 0.0).delay_after(1, parse_retry_after("9" * 400, 0.0)) == MAX_RETRY_AFTER


async def test_silent_sink_times_out_at_the_deadline(sender: Sender, sink: Sink) -> None:
    sink.routes["/hook"] = hang()
    result = await sender.send(sink.url(), b"{}", JSON, timeout=DEADLINE)
    assert (result.status_code, result.error, result.ok) == (None, "timeout", False)
    assert DEADLINE - 0.01 <= result.duration_ms / 1000 < DEADLINE + MARGIN


async def drip(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    for _ in range(100):  # 5 s of body, far past any deadline used here
        await response.write(b"x")
        await asyncio.sleep(0.05)
    return response


async def test_dripping_body_is_cut_at_the_total_deadline(sender: Sender, sink: Sink) -> None:
    """Each byte arrives in time for a per-read timeout; only a total deadline stops it."""
    sink.routes["/hook"] = drip
    result = await sender.send(sink.url(), b"{}", JSON, timeout=DEADLINE)
    assert (result.status_code, result.error, result.ok) == (200, "timeout", False)
    assert result.duration_ms / 1000 < DEADLINE + MARGIN
    assert result.response_excerpt and set(result.response_excerpt) == {"x"}


async def test_large_body_read_is_capped(sender: Sender, sink: Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    sink.routes["/hook"] = answer(200, "é" * (512 * 1024))  # 1 MiB of UTF-8
    read_total = 0
    original = aiohttp.StreamReader.read

    async def counting_read(self: aiohttp.StreamReader, n: int = -1) -> bytes:
        nonlocal read_total
        chunk = await original(self, n)
        read_total += len(chunk)
        return chunk

    monkeypatch.setattr(aiohttp.StreamReader, "read", counting_read)
    result = await sender.send(sink.url(), b"{}", JSON, timeout=5)
    assert result.ok and 0 < read_total <= MAX_RESPONSE_BYTES
    assert result.response_excerpt == "é" * 1024


async def endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    chunk = b"z" * 65536
    try:
        while True:  # until the client hangs up: only a reader that stops early ever finishes
            await response.write(chunk)
    except ConnectionError:
        return response


async def test_endless_body_does_not_hold_the_attempt(sender: Sender, sink: Sink) -> None:
    sink.routes["/hook"] = endless
    result = await sender.send(sink.url(), b"{}", JSON, timeout=2)
    assert result.ok and result.response_excerpt == "z" * 1024


async def test_connection_refused_is_reported(sender: Sender) -> None:
    with socket.socket() as probe:  # a port that was just free on loopback, now closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await sender.send(f"http://user:pw@127.0.0.1:{port}/hook?token=t0k", b"{}", JSON, timeout=5)
    assert result.status_code is None and result.error == f"connection refused (127.0.0.1:{port})"
    assert result.response_excerpt is None


async def test_proxy_environment_is_ignored(
    sender: Sender, make_sink: SinkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, target = await make_sink(), await make_sink()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, proxy.url(""))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert (await sender.send(target.url(), b"{}", JSON, timeout=5)).ok
    assert proxy.received == [] and len(target.received) == 1


async def test_loopback_literal_refused_by_default(sink: Sink) -> None:
    sender = Sender()
    try:
        result = await sender.send(sink.url(), b"{}", JSON, timeout=5)
    finally:
        await sender.close()
    assert result.status_code is None and result.error is not None
    assert result.error.startswith("destination refused: 127.0.0.1")
    assert sink.received == []


@pytest.mark.parametrize("name", ["sink.test", "2130706433.test"])
async def test_name_resolving_to_loopback_refused_at_connect(sink: Sink, name: str) -> None:
    """The resolver's refusal crosses aiohttp (as ClientConnectorDNSError) and is named as such."""
    resolver = FakeResolver({name: ["127.0.0.1", "::1"]})
    sender = Sender(resolver=resolver)
    try:
        result = await sender.send(f"http://{name}:{sink.port}/hook", b"{}", JSON, timeout=5)
    finally:
        await sender.close()
    assert result.error is not None and result.error.startswith(f"destination refused: {name}:")
    assert resolver.asked == [name] and resolver.closed and sink.received == []


async def test_injected_resolver_is_used_when_private_is_allowed(sink: Sink) -> None:
    sender = Sender(allow_private=True, resolver=FakeResolver({"sink.test": ["127.0.0.1"]}))
    try:
        result = await sender.send(f"http://sink.test:{sink.port}/hook", b"{}", JSON, timeout=5)
    finally:
        await sender.close()
    assert result.ok and sink.received[0].headers["host"] == f"sink.test:{sink.port}"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "http:///nohost", "http://[::1"])
async def test_bad_urls_are_results_not_exceptions(sender: Sender, url: str) -> None:
    result = await sender.send(url, b"{}", JSON, timeout=5)
    assert result.status_code is None and result.error and result.error.startswith("destination refused: ")


async def test_header_injection_is_a_result_not_an_exception(sender: Sender, sink: Sink) -> None:
    result = await sender.send(sink.url(), b"{}", {"X-Evil": "a\r\nInjected: yes"}, timeout=5)
    assert result.status_code is None and result.error is not None and "Injected" not in result.error
    assert sink.received == []


async def test_cancellation_propagates(sender: Sender, sink: Sink) -> None:
    arrived = asyncio.Event()
    sink.routes["/hook"] = hang(arrived)
    task = asyncio.create_task(sender.send(sink.url(), b"{}", JSON, timeout=5))
    await arrived.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_parse_retry_after_accepts_every_http_date_format() -> None:
    """RFC 9110 §5.6.7: a recipient MUST accept IMF-fixdate, RFC 850 and asctime forms."""
    now = 784111777.0 - 100  # 100 s before Sun, 06 Nov 1994 08:49:37 GMT
    for value in ("Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"):
        assert parse_retry_after(value, now) == 100.0, value


@pytest.mark.parametrize("charset", ["hex", "base64", "zlib", "rot13", "idna", "utf-16", "punycode"])
async def test_hostile_charset_still_gives_an_outcome_and_a_text_excerpt(
    sender: Sender, sink: Sink, charset: str
) -> None:
    """A receiver's charset parameter names any codec, bytes-to-bytes ones included."""

    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=b"accepted \xff", headers={"Content-Type": f"text/plain; charset={charset}"})

    sink.routes["/hook"] = handler
    result = await sender.send(sink.url(), b"{}", JSON, timeout=5)
    assert result.ok and result.status_code == 200
    assert isinstance(result.response_excerpt, str) and result.response_excerpt.startswith("accepted")


@pytest.mark.parametrize(("charset", "body"), [("utf-7", b"ok +2AA- end"), ("utf-8", b"ok \x00 end")])
async def test_excerpt_is_storable_text(sender: Sender, sink: Sink, charset: str, body: bytes) -> None:
    """No lone surrogate (UTF-8 cannot encode it) and no NUL (PostgreSQL text refuses it)."""

    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Type": f"text/plain; charset={charset}"})

    sink.routes["/hook"] = handler
    result = await sender.send(sink.url(), b"{}", JSON, timeout=5)
    assert result.ok and result.response_excerpt is not None
    assert result.response_excerpt.startswith("ok ") and result.response_excerpt.endswith(" end")
    assert "\x00" not in result.response_excerpt
    result.response_excerpt.encode("utf-8")
