"""The workload: shipments whose webhooks are each unique, sent in order, each recorded.

Stream ``i`` owns the AWB ``<prefix><i>`` and sends its updates ``seq = 0, 1, 2...`` one at a
time (each answered, or given up on, before the next): a Shiprocket IN TRANSIT webhook whose
``current_timestamp`` grows one second per update (so no update is stale, and none is a
duplicate of another) and whose status text ends with the seq (so a delivery names its
webhook). Nothing is ever sent twice: an update whose fate is unknown stays unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence

import aiohttp
import orjson
from faultcheck import Request
from support import CREDENTIALS, wait_until

ORG = "acme"
SOURCE_PATH = f"/v1/{ORG}/webhooks/shiprocket"
HEADERS = {"content-type": "application/json", **CREDENTIALS[ORG]["shiprocket"]}
#: After a refusal or a 5xx, a stream waits at least this long.
PAUSE = 0.05


def webhook_body(awb: str, seq: int) -> bytes:
    clock = f"{9 + seq // 3600:02d}:{seq // 60 % 60:02d}:{seq % 60:02d}"
    return orjson.dumps(
        {
            "awb": awb,
            "shipment_status_id": 18,
            "shipment_status": f"IN TRANSIT {seq}",
            "current_timestamp": f"14 03 2025 {clock}",
            "order_id": f"O-{awb}",
            "courier_name": "Delhivery",
        }
    )


class Workload:
    """``streams`` shipments; ``run`` sends until a deadline or a count, and may be called
    again (each stream goes on from its last seq)."""

    def __init__(self, prefix: str, streams: int, *, timeout: float = 5.0, pace: float = 0.0) -> None:
        """``pace``: the least time between two sends of one stream (0: as fast as answered)."""
        self.prefix = prefix
        self.streams = streams
        self.timeout = timeout
        self.pace = pace
        self.requests: list[Request] = []
        self._next = [0] * streams
        self._stopped = False

    def awb(self, stream: int) -> str:
        return f"{self.prefix}{stream:05d}"

    def acked(self) -> int:
        return sum(1 for r in self.requests if r.outcome == "ok")

    async def more(self, count: int, within: float = 15.0) -> None:
        """Wait (bounded) until ``count`` more requests have been acknowledged."""
        target = self.acked() + count
        await wait_until(
            lambda: self.acked() >= target, timeout=within, what=f"{count} more acknowledged ({self.prefix})"
        )

    def stop(self) -> None:
        """Each stream ends after the request it has under way."""
        self._stopped = True

    async def run(self, targets: Callable[[], Sequence[str]], *, seconds: float, limit: int = 100_000) -> None:
        """Send from every stream until ``seconds`` have passed or ``limit`` requests are sent.
        ``targets()``: the base URLs alive now; update ``seq`` goes to one chosen by seq."""
        deadline = time.monotonic() + seconds
        budget = [limit]
        self._stopped = False
        connector = aiohttp.TCPConnector(limit=self.streams)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=HEADERS) as session:
            await asyncio.gather(*(self._stream(session, i, targets, deadline, budget) for i in range(self.streams)))

    async def _stream(
        self,
        session: aiohttp.ClientSession,
        stream: int,
        targets: Callable[[], Sequence[str]],
        deadline: float,
        budget: list[int],
    ) -> None:
        while time.monotonic() < deadline and budget[0] > 0 and not self._stopped:
            budget[0] -= 1
            seq = self._next[stream]
            self._next[stream] += 1
            alive = targets()
            request = await self.send(session, alive[(stream + seq) % len(alive)], self.awb(stream), seq)
            # Open-loop pacing, or a breather after a failure: a gateway that is down is not hammered.
            wait = max(self.pace - (request.ended - request.started), PAUSE if request.outcome != "ok" else 0.0)
            if wait > 0:
                await asyncio.sleep(wait)

    async def send(self, session: aiohttp.ClientSession, base: str, awb: str, seq: int) -> Request:
        started = time.monotonic()
        status: int | None = None
        event_ids: tuple[str, ...] = ()
        error: str | None = None
        retry_after: str | None = None
        try:
            async with session.post(base + SOURCE_PATH, data=webhook_body(awb, seq)) as response:
                status = response.status
                retry_after = response.headers.get("retry-after")
                body = await response.read()
            if 200 <= status < 300:
                event_ids = tuple(orjson.loads(body)["eventIds"])
                outcome = "ok"
            else:
                outcome = "fail" if status < 500 else "unknown"
        except aiohttp.ClientConnectorError as exc:
            # Refused before a byte was sent: definitely not stored.
            outcome, error = "fail", f"connect: {type(exc).__name__}"
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            outcome, error = "unknown", type(exc).__name__
        request = Request(awb, seq, outcome, status, event_ids, error, started, time.monotonic(), retry_after)
        self.requests.append(request)
        return request


@contextlib.asynccontextmanager
async def ingesting(
    workload: Workload, targets: Callable[[], Sequence[str]], *, seconds: float = 60.0, limit: int = 20_000
) -> AsyncIterator[asyncio.Task[None]]:
    """Steady ingest in the background while the block injects faults; stopped (and every
    request under way settled) when it ends."""
    task = asyncio.create_task(workload.run(targets, seconds=seconds, limit=limit))
    try:
        yield task
    finally:
        workload.stop()
        async with asyncio.timeout(workload.timeout + 5):
            await task
