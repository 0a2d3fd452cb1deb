"""The real process delivering to a real sink: crash takeover and graceful shutdown."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from pathlib import Path

import httpx
from aiohttp import web
from procs import HEADERS, GatewayProcess, configure, received_ids
from sinks import SinkFactory
from support import wait_until


async def post_many(url: str, count: int) -> list[str]:
    ids: list[str] = []
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        for i in range(count):
            body = json.dumps(
                {
                    "awb": f"C{i:03d}",
                    "shipment_status_id": 18,
                    "shipment_status": "IN TRANSIT",
                    "current_timestamp": "14 03 2025 09:00:00",
                }
            ).encode()
            response = await client.post("/v1/acme/webhooks/shiprocket", content=body, headers=HEADERS)
            assert response.status_code == 200
            ids += response.json()["eventIds"]
    return ids


def states(workdir: Path) -> dict[str, int]:
    with sqlite3.connect(workdir / "data" / "gateway.db") as conn:
        rows = conn.execute("SELECT state, count(*) FROM deliveries WHERE endpoint = 'all' GROUP BY state")
        return dict(rows.fetchall())


async def test_sigkill_with_deliveries_in_flight_loses_nothing(
    workdir: Path, gateway_process: GatewayProcess, make_sink: SinkFactory
) -> None:
    sink = await make_sink()
    hold = asyncio.Event()

    async def held(request: web.Request) -> web.StreamResponse:
        await hold.wait()
        return web.Response(text="ok")

    sink.routes["/hook"] = held
    configure(workdir, sink, timeout="3s", lease="8s")
    gateway_process.start()
    accepted = await post_many(gateway_process.url, 40)
    # max_in_flight requests held open:
    await wait_until(lambda: len(sink.received) >= 16, timeout=10, what="16 deliveries held open")
    in_flight = set(received_ids(sink))
    gateway_process.kill(signal.SIGKILL)
    sink.routes.pop("/hook")  # from now on the sink answers 200 at once
    hold.set()

    gateway_process.start()
    # The in-flight ones come back once their dead owner's lease (8 s) runs out.
    await wait_until(lambda: states(workdir) == {"delivered": 40}, timeout=30, what="40 delivered")
    ids = received_ids(sink)
    assert set(ids) == set(accepted)
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert duplicates <= in_flight  # only what was in flight at the crash is sent twice


async def test_sigterm_finishes_in_flight_sends_releases_leases_and_exits_0(
    workdir: Path, gateway_process: GatewayProcess, make_sink: SinkFactory
) -> None:
    sink = await make_sink()

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.3)  # the receiver's own latency: the in-flight window under test
        return web.Response(text="ok")

    sink.routes["/hook"] = slow
    configure(workdir, sink, timeout="5s", lease="10s")
    gateway_process.start()
    await post_many(gateway_process.url, 40)
    await wait_until(lambda: len(sink.received) >= 16, timeout=10, what="16 deliveries held open")
    sent_before_term = len(sink.received)
    code = await asyncio.to_thread(gateway_process.kill, signal.SIGTERM)
    assert code == 0
    with sqlite3.connect(workdir / "data" / "gateway.db") as conn:
        rows = conn.execute("SELECT state, lease_token FROM deliveries WHERE endpoint = 'all'").fetchall()
        attempts = conn.execute(
            "SELECT count(*), count(a.status_code) FROM attempts a JOIN deliveries d ON d.id = a.delivery_id "
            "WHERE d.endpoint = 'all'"
        ).fetchone()
    assert all(token is None for _, token in rows)  # no lease left behind
    delivered = sum(1 for state, _ in rows if state == "delivered")
    assert delivered >= sent_before_term  # what was under way when SIGTERM came was finished
    assert attempts[0] == attempts[1]  # and none was cut off without an answer
    events = [json.loads(line)["event"] for line in gateway_process.log_lines()]
    assert "gateway.stopped" in events
