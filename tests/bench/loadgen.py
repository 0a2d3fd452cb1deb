"""A lean HTTP/1.1 load generator for the ingest bench (127.0.0.1 only, keep-alive).

Two modes, both bounded in time:

* closed loop (no ``--rate``): ``--connections`` connections, each with one request in
  flight; a connection sends its next request as soon as the previous answer is complete.
  Latency is measured from the send, like wrk.
* open loop (``--rate R``): requests are scheduled at ``t0 + i/R`` whatever the server does,
  and handed to an idle connection (or queued until one is free). Latency is measured from
  the *scheduled* time, so a slow server is not hidden by the generator slowing down with it
  (no coordinated omission). The generator's own dispatch lag is reported separately.

Every body is a ~1 KB Shiprocket tracking webhook whose AWB is unique per request
(``<tag><connection or sequence><counter>``, 14 characters), so the gateway's dedupe never
short-circuits an insert.

It is callback-based asyncio (``asyncio.Protocol``, uvloop when installed) rather than
aiohttp, to keep the client's CPU per request small: it shares two cores with the server.
Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import sys
import time
from collections.abc import Callable
from urllib.parse import urlsplit

ALLOWED_HOSTS = ("127.0.0.1",)
#: A request (or the connection) that has not answered by then is an error.
REQUEST_TIMEOUT = 5.0
#: Hard stop for any run: duration + this.
GRACE = 10.0
MAX_RECONNECTS = 1000


def shiprocket_body_parts() -> tuple[bytes, bytes]:
    """A ~1 KB Shiprocket webhook split around the AWB: ``prefix + awb + suffix``."""
    scans = [
        ("2025-03-12 18:02:11", "X-UCI", "Manifested", "Jaipur_Hub (Rajasthan)", "5", "MANIFEST GENERATED"),
        ("2025-03-13 10:20:05", "X-PPOM", "Shipment picked up", "Jaipur_Hub (Rajasthan)", "42", "PICKED UP"),
        ("2025-03-13 22:41:17", "X-DLL2F", "Bagged at origin", "Jaipur_Hub", "18", "IN TRANSIT"),
        ("2025-03-14 09:12:40", "X-DLL2F", "In transit", "Delhi_Gateway (Delhi)", "18", "IN TRANSIT"),
    ]
    scan_json = ",".join(
        json.dumps(
            {"date": d, "status": s, "activity": a, "location": loc, "sr-status": c, "sr-status-label": label},
            separators=(",", ":"),
        )
        for d, s, a, loc, c, label in scans
    )
    marker = "@@AWB@@"
    body = {
        "awb": marker,
        "courier_name": "Delhivery Surface",
        "current_status": "IN TRANSIT",
        "current_status_id": 20,
        "shipment_status": "IN TRANSIT",
        "shipment_status_id": 18,
        "current_timestamp": "14 03 2025 09:12:40",
        "order_id": "ACME-20231",
        "sr_order_id": 781200341,
        "awb_assigned_date": "2025-03-12 18:02:11",
        "etd": "2025-03-16 20:00:00",
        "scans": "@@SCANS@@",
        "is_return": 0,
        "channel_id": 5512001,
        "pod_status": "",
    }
    text = json.dumps(body, separators=(",", ":")).replace('"@@SCANS@@"', f"[{scan_json}]")
    prefix, suffix = text.split(marker)
    return prefix.encode(), suffix.encode()


AWB_WIDTH = 14


def awb(tag: str, worker: int, counter: int) -> str:
    """Fixed width, so every body has the same length: tag (2) + worker (3) + counter (9)."""
    return f"{tag[:2]:>2}{worker % 1000:03d}{counter % 1_000_000_000:09d}"


class Target:
    """What to send: a fixed head (request line + headers) and a per-request body."""

    def __init__(self, url: str, headers: list[str], tag: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in ALLOWED_HOSTS or parts.port is None:
            raise SystemExit(f"loadgen: only http://127.0.0.1:<port>/... is allowed, not {url!r}")
        self.host, self.port = parts.hostname, parts.port
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.prefix, self.suffix = shiprocket_body_parts()
        length = len(self.prefix) + AWB_WIDTH + len(self.suffix)
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Content-Type: application/json"]
        lines += headers
        lines += [f"Content-Length: {length}", "", ""]
        self.head = "\r\n".join(lines).encode()
        self.tag = tag
        self.body_len = length

    def request(self, worker: int, counter: int) -> bytes:
        return b"".join((self.head, self.prefix, awb(self.tag, worker, counter).encode(), self.suffix))


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []  # seconds, successes only
        self.lags: list[float] = []  # open loop: actual send - scheduled send
        self.status: collections.Counter[int] = collections.Counter()
        self.errors = 0  # connection/protocol errors and timeouts
        self.non2xx = 0


class Conn(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self, gen: Generator, index: int) -> None:
        self.gen = gen
        self.index = index
        self.counter = 0
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.sched = 0.0
        self.busy = False
        self.ready: asyncio.Future[None] = gen.loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport
        if not self.ready.done():
            self.ready.set_result(None)

    def send(self, sched: float) -> None:
        assert self.transport is not None
        self.busy = True
        self.sched = sched
        self.counter += 1
        self.buf.clear()
        self.transport.write(self.gen.target.request(self.index, self.counter))

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return
        length = _content_length(buf, end)
        if length is None:
            self._fail()
            return
        if len(buf) < end + 4 + length:
            return
        status = int(buf[9:12])
        self.busy = False
        self.gen.completed(self, status)

    def _fail(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if not self.ready.done():
            self.ready.set_exception(exc or ConnectionError("closed"))
        self.gen.lost(self)


def _content_length(buf: bytearray, end: int) -> int | None:
    head = bytes(buf[:end]).lower()
    i = head.find(b"\r\ncontent-length:")
    if i < 0:
        return None  # chunked or close-delimited: not expected from either server
    j = head.find(b"\r\n", i + 2)
    try:
        return int(head[i + 17 : j if j >= 0 else len(head)])
    except ValueError:
        return None


class Generator:
    def __init__(self, target: Target, connections: int, duration: float, rate: float | None) -> None:
        self.loop = asyncio.get_running_loop()
        self.target = target
        self.n_conns = connections
        self.duration = duration
        self.rate = rate
        self.stats = Stats()
        self.conns: list[Conn] = []
        self.idle: list[Conn] = []
        self.backlog: collections.deque[float] = collections.deque()
        self.deadline = 0.0
        self.accepting = True
        self.reconnects = 0
        self.done = self.loop.create_future()
        self.in_flight = 0
        self.last_done = 0.0

    async def connect(self, index: int) -> Conn:
        conn = Conn(self, index)
        await self.loop.create_connection(lambda: conn, self.target.host, self.target.port)
        await conn.ready
        return conn

    def completed(self, conn: Conn, status: int) -> None:
        now = time.perf_counter()
        self.in_flight -= 1
        self.last_done = now
        stats = self.stats
        stats.status[status] += 1
        if 200 <= status < 300:
            stats.latencies.append(now - conn.sched)
        else:
            stats.non2xx += 1
        self._next(conn, now)

    def lost(self, conn: Conn) -> None:
        if conn.busy:
            conn.busy = False
            self.in_flight -= 1
            self.stats.errors += 1
        if conn in self.idle:
            self.idle.remove(conn)
        if self.accepting and self.reconnects < MAX_RECONNECTS:
            self.reconnects += 1
            self.loop.create_task(self._replace(conn))
        self._maybe_done()

    async def _replace(self, old: Conn) -> None:
        try:
            conn = await self.connect(old.index)
        except OSError:
            self.stats.errors += 1
            return
        conn.counter = old.counter
        self.conns[old.index] = conn
        self._next(conn, time.perf_counter())

    def _next(self, conn: Conn, now: float) -> None:
        if self.rate is None:
            if self.accepting and now < self.deadline:
                self.in_flight += 1
                conn.send(now)
                return
        elif self.backlog:
            self.in_flight += 1
            self._send_scheduled(conn, self.backlog.popleft(), now)
            return
        self.idle.append(conn)
        self._maybe_done()

    def _send_scheduled(self, conn: Conn, sched: float, now: float) -> None:
        self.stats.lags.append(now - sched)
        conn.send(sched)

    def _maybe_done(self) -> None:
        if not self.accepting and self.in_flight <= 0 and not self.backlog and not self.done.done():
            self.done.set_result(None)

    async def run(self) -> float:
        self.conns = list(await asyncio.gather(*(self.connect(i) for i in range(self.n_conns))))
        start = time.perf_counter()
        self.deadline = start + self.duration
        if self.rate is None:
            for conn in self.conns:
                self.in_flight += 1
                conn.send(time.perf_counter())
            await asyncio.sleep(self.duration)
        else:
            self.idle = list(self.conns)
            await self._schedule(start, self.rate)
        self.accepting = False
        self._maybe_done()
        try:
            await asyncio.wait_for(asyncio.shield(self.done), REQUEST_TIMEOUT)
        except TimeoutError:
            self.stats.errors += self.in_flight + len(self.backlog)
        end = self.last_done if self.rate is None else max(self.last_done, self.deadline)
        for conn in self.conns:
            if conn.transport is not None:
                conn.transport.close()
        return max(end - start, 1e-9)

    async def _schedule(self, start: float, rate: float) -> None:
        total = int(rate * self.duration)
        sent = 0
        while sent < total:
            now = time.perf_counter()
            due = min(total, int((now - start) * rate) + 1)
            while sent < due:
                sched = start + sent / rate
                sent += 1
                if self.idle:
                    conn = self.idle.pop()
                    self.in_flight += 1
                    self._send_scheduled(conn, sched, now)
                else:
                    self.backlog.append(sched)
            if sent < total:
                await asyncio.sleep(max(0.0, start + sent / rate - time.perf_counter()))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def summarize(stats: Stats, elapsed: float, args: argparse.Namespace) -> dict[str, object]:
    ok = len(stats.latencies)
    total = ok + stats.non2xx
    lat = sorted(stats.latencies)

    def pct(p: float) -> float:
        return round(percentile(lat, p) * 1000, 3)

    out: dict[str, object] = {
        "mode": "open" if args.rate else "closed",
        "connections": args.connections,
        "rate": args.rate,
        "requests": total,
        "ok": ok,
        "non2xx": stats.non2xx,
        "errors": stats.errors,
        "elapsed_s": round(elapsed, 3),
        "rps": round(total / elapsed, 1),
        "p50_ms": pct(50),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "p999_ms": pct(99.9),
        "max_ms": round(lat[-1] * 1000, 3) if lat else math.nan,
        "status": {str(k): v for k, v in sorted(stats.status.items())},
    }
    if args.rate:
        out["lag_p99_ms"] = round(percentile(stats.lags, 99) * 1000, 3)
    return out


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    target = Target(args.url, args.header, args.tag)
    gen = Generator(target, args.connections, args.duration, args.rate)
    elapsed = await asyncio.wait_for(gen.run(), args.duration + GRACE)
    return summarize(gen.stats, elapsed, args)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT/path")
    parser.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=None, help="open loop at this many requests/s")
    parser.add_argument("--tag", default="PY", help="2 characters that start every AWB (keep them unique per run)")
    args = parser.parse_args(argv)
    if not 1 <= args.connections <= 1024 or not 0 < args.duration <= 600:
        parser.error("connections must be 1..1024 and duration 0..600 s")
    if args.rate is not None and not 0 < args.rate <= 100_000:
        parser.error("rate must be 0..100000")
    return args


def run(argv: list[str] | None = None, *, out: Callable[[str], object] = print) -> int:
    args = parse_args(argv)
    try:
        import uvloop

        runner: Callable[..., dict[str, object]] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a gateway dependency
        runner = asyncio.run
    result = runner(main_async(args))
    out(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(run())
