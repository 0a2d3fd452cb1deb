"""Three ``gateway serve`` processes on one PostgreSQL database, one of them SIGKILLed mid-way.

Every acknowledged notification must be delivered, an ordered endpoint must see each
shipment's notifications in order, and no delivery may have two attempts in flight at once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiohttp import web
from pgsupport import create_database, drop_database, dsn, new_name, require_postgres, run_sync
from procs import GatewayProcess
from sinks import SinkFactory
from support import CREDENTIALS, wait_until

HEADERS = {"content-type": "application/json", **CREDENTIALS["acme"]["shiprocket"]}
AWBS, UPDATES = 60, 4  # 240 webhooks


class Tracker:
    """Per (path, webhook-id): how many attempts are in flight now, and the most ever."""

    def __init__(self) -> None:
        self.now: dict[tuple[str, str], int] = defaultdict(int)
        self.peak: dict[tuple[str, str], int] = defaultdict(int)
        self.order: dict[str, list[str]] = defaultdict(list)  # path -> webhook-ids as received
        self.latency = 0.005

    async def handle(self, request: web.Request) -> web.StreamResponse:
        key = (request.path, request.headers["webhook-id"])
        await request.read()
        self.order[request.path].append(key[1])
        self.now[key] += 1
        self.peak[key] = max(self.peak[key], self.now[key])
        try:
            await asyncio.sleep(self.latency)  # the receiver's own latency: the window an overlap would show in
        finally:
            self.now[key] -= 1
        return web.Response(text="ok")


@pytest.fixture
def database() -> Iterator[str]:
    require_postgres()
    name = new_name("gw_accept")
    run_sync(lambda: create_database(name))  # empty: the processes migrate it together
    try:
        yield name
    finally:
        run_sync(lambda: drop_database(name))


@pytest.fixture
async def cluster(
    workdir: Path, database: str, make_sink: SinkFactory
) -> AsyncIterator[tuple[list[GatewayProcess], Tracker]]:
    sink = await make_sink()
    tracker = Tracker()
    sink.routes["/all"] = sink.routes["/ordered"] = tracker.handle
    (workdir / "gateway.toml").write_text(
        '[delivery]\ntimeout = "1s"\nlease = "6s"\nallow_private_destinations = true\n'
        'retry_schedule = ["1s", "1s", "1s", "1s", "1s"]\njitter = 0\n'
    )
    (workdir / "routes" / "beta.toml").unlink()
    (workdir / "routes" / "acme.toml").write_text(
        'org = "acme"\n[sources.shiprocket]\ntokens = ["sr-acme-token-0001"]\n'
        f'[[endpoints]]\nname = "all"\nurl = "{sink.url("/all")}"\nordered = false\n'
        f'[[endpoints]]\nname = "ordered"\nurl = "{sink.url("/ordered")}"\nordered = true\n'
    )
    procs = []
    for i in range(3):
        (workdir / f"p{i}").mkdir()
        for item in ("gateway.toml", "routes"):
            (workdir / f"p{i}" / item).symlink_to(workdir / item)
        procs.append(GatewayProcess(workdir / f"p{i}", env={"GATEWAY_STORE_URL": dsn(database)}))
    try:
        await asyncio.gather(*(asyncio.to_thread(p.start) for p in procs))
        yield procs, tracker
    finally:
        for p in procs:
            p.stop()


def body(awb: str, update: int) -> bytes:
    return json.dumps(
        {
            "awb": awb,
            "shipment_status_id": 18,
            "shipment_status": "IN TRANSIT",
            "current_timestamp": f"14 03 2025 09:{update:02d}:00",
        }
    ).encode()


async def post_updates(
    client: httpx.AsyncClient, procs: list[GatewayProcess], alive: list[bool], index: int, acked: dict[str, list[str]]
) -> None:
    """One shipment's updates in order, each acknowledged before the next is sent."""
    awb = f"PG{index:04d}"
    for update in range(UPDATES):
        for attempt in range(6):
            target = procs[(index + update + attempt) % len(procs)]
            if not alive[procs.index(target)]:
                continue
            try:
                response = await client.post(f"{target.url}/v1/acme/webhooks/shiprocket", content=body(awb, update))
            except httpx.TransportError:
                continue  # that process died under us: not acknowledged, send it elsewhere
            assert response.status_code == 200, response.text
            acked[awb] += response.json()["eventIds"]
            break
        else:
            raise AssertionError(f"{awb} update {update} was never acknowledged")


async def states(database: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn(database))
    try:
        rows = await conn.fetch("SELECT state, count(*) FROM deliveries GROUP BY state")
    finally:
        await conn.close()
    return {r[0]: r[1] for r in rows}


async def test_three_processes_one_killed_deliver_everything_once_in_order(
    cluster: tuple[list[GatewayProcess], Tracker], database: str
) -> None:
    procs, tracker = cluster
    alive = [True, True, True]
    acked: dict[str, list[str]] = defaultdict(list)
    async with httpx.AsyncClient(timeout=10, headers=HEADERS) as client:
        tracker.latency = 0.3  # a slow receiver: every process has attempts in flight at the kill
        first = [post_updates(client, procs, alive, i, acked) for i in range(AWBS // 2)]
        await asyncio.gather(*first)
        # Mid-way, with deliveries in flight: one process dies without a goodbye.
        alive[1] = False
        await asyncio.to_thread(procs[1].kill, signal.SIGKILL)
        tracker.latency = 0.005
        second = [post_updates(client, procs, alive, i, acked) for i in range(AWBS // 2, AWBS)]
        await asyncio.gather(*second)

    events = {e for ids in acked.values() for e in ids}
    assert len(events) == AWBS * UPDATES

    async def all_delivered() -> bool:  # the state watched lives in the other processes' database
        return await states(database) == {"delivered": 2 * len(events)}

    await wait_until(all_delivered, timeout=60, interval=0.2, what=f"{2 * len(events)} deliveries delivered")

    for path in ("/all", "/ordered"):
        assert set(tracker.order[path]) == events
    conn = await asyncpg.connect(dsn(database))
    try:
        taken_over = await conn.fetchval("SELECT count(*) FROM deliveries WHERE attempt_count > 1")
    finally:
        await conn.close()
    assert taken_over > 0  # the dead process's leases expired and were taken over
    assert max(tracker.peak.values()) == 1  # never two attempts of one delivery at once
    position = {e: i for i, e in enumerate(tracker.order["/ordered"])}  # the last receipt of each
    first_seen: dict[str, int] = {}
    for i, e in enumerate(tracker.order["/ordered"]):
        first_seen.setdefault(e, i)
    for awb, ids in acked.items():
        # Each update reached the ordered endpoint only after every earlier one's final send.
        for earlier, later in itertools.pairwise(ids):
            assert position[earlier] < first_seen[later], f"{awb}: {later} overtook {earlier}"
