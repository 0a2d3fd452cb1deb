"""``gateway serve --workers N``: several processes behind one port and one store."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from pgsupport import create_database, drop_database, dsn, new_name, require_postgres, run_sync
from procs import HEADERS, GatewayProcess, configure, received_ids
from prometheus_client.parser import text_string_to_metric_families
from sinks import SinkFactory
from support import BETA_ROUTES, CREDENTIALS, wait_until

WORKERS = ("--workers", "2")


@pytest.fixture
def workers_process(workdir: Path) -> Iterator[GatewayProcess]:
    proc = GatewayProcess(workdir, args=WORKERS)
    try:
        yield proc
    finally:
        proc.stop()


def events(proc: GatewayProcess) -> list[dict[str, object]]:
    return [json.loads(line) for line in proc.log_lines() if line.startswith("{")]


def worker_pids(proc: GatewayProcess) -> dict[int, int]:
    """The current pid of each worker, from the parent's ``worker.started`` lines."""
    pids: dict[int, int] = {}
    for e in events(proc):
        if e["event"] == "worker.started":
            pids[int(str(e["worker"]))] = int(str(e["pid"]))
    return pids


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def post_spread(url: str, count: int, start: int = 0) -> list[str]:
    """Each webhook on a new connection, so the kernel spreads them over the workers."""
    ids: list[str] = []

    async def one(i: int) -> None:
        body = json.dumps(
            {"awb": f"W{i:04d}", "shipment_status_id": 18, "current_timestamp": "14 03 2025 09:00:00"}
        ).encode()
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            response = await client.post("/v1/acme/webhooks/shiprocket", content=body, headers=HEADERS)
        assert response.status_code == 200, response.text
        ids.extend(response.json()["eventIds"])

    for first in range(start, start + count, 20):
        await asyncio.gather(*(one(i) for i in range(first, min(first + 20, start + count))))
    return ids


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """``None``: the SQLite file ``configure`` writes; else a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    require_postgres()
    name = new_name("gw_workers")
    run_sync(lambda: create_database(name))
    try:
        yield dsn(name)
    finally:
        run_sync(lambda: drop_database(name))


async def stored_notifications(workdir: Path, store_url: str | None) -> int:
    if store_url is None:
        with sqlite3.connect(workdir / "data" / "gateway.db") as conn:
            return int(conn.execute("SELECT count(*) FROM notifications").fetchone()[0])
    conn = await asyncpg.connect(store_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM notifications"))
    finally:
        await conn.close()


async def scrape(url: str) -> dict[tuple[str, tuple[str, ...]], float]:
    """``/metrics`` on a new connection, as ``{(sample name, label values): value}``."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    samples: dict[tuple[str, tuple[str, ...]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            order = ("org", "source", "endpoint", "outcome")
            labels = tuple(sample.labels[k] for k in order if k in sample.labels)
            samples[(sample.name, labels)] = sample.value
    return samples


async def test_two_workers_accept_on_one_port_and_every_webhook_is_delivered_once(
    workdir: Path, workers_process: GatewayProcess, make_sink: SinkFactory, store_url: str | None
) -> None:
    sink = await make_sink()
    configure(workdir, sink, timeout="5s", lease="10s")
    if store_url is not None:
        config = (workdir / "gateway.toml").read_text()
        (workdir / "gateway.toml").write_text(config.replace("sqlite:///data/gateway.db", store_url))
    workers_process.start()
    accepted = await post_spread(workers_process.url, 200)

    await wait_until(lambda: len(received_ids(sink)) >= 200, timeout=20, what="200 deliveries")
    assert sorted(received_ids(sink)) == sorted(accepted)  # every one, no duplicate
    by_worker = {e.get("worker") for e in events(workers_process) if e["event"] == "webhook.accepted"}
    assert by_worker == {0, 1}  # both processes took webhooks
    sent_by = {e.get("worker") for e in events(workers_process) if e["event"] == "delivery.succeeded"}
    assert sent_by == {0}  # and one of them sends, so endpoint limits hold for the gateway
    assert await stored_notifications(workdir, store_url) == 200
    for _ in range(6):  # whichever worker answers the scrape, it counts every worker's work
        scraped = await scrape(workers_process.url)
        assert scraped[("gateway_webhooks_total", ("acme", "shiprocket", "accepted"))] == 200
        assert scraped[("gateway_deliveries_total", ("acme", "all", "delivered"))] == 200
        assert scraped[("gateway_ingest_seconds_count", ("shiprocket",))] == 200


async def test_sigterm_to_the_parent_stops_every_worker_and_exits_0(workers_process: GatewayProcess) -> None:
    workers_process.start()
    pids = worker_pids(workers_process)
    assert sorted(pids) == [0, 1]
    code = await asyncio.to_thread(workers_process.kill, signal.SIGTERM)
    assert code == 0
    assert not any(alive(pid) for pid in pids.values())
    stopped = [e for e in events(workers_process) if e["event"] == "gateway.stopped"]
    assert sorted(int(str(e["worker"])) for e in stopped) == [0, 1]


async def test_a_worker_that_dies_is_replaced_and_the_port_keeps_answering(workers_process: GatewayProcess) -> None:
    workers_process.start()
    first = worker_pids(workers_process)
    os.kill(first[1], signal.SIGKILL)
    await wait_until(
        lambda: worker_pids(workers_process).get(1, first[1]) != first[1], timeout=10, what="a new worker 1"
    )
    exits = [e for e in events(workers_process) if e["event"] == "worker.exited"]
    assert [(e["worker"], e["pid"], e["exit_code"]) for e in exits] == [(1, first[1], -signal.SIGKILL)]
    # Connections the kernel hands to worker 1's listener wait for its successor.
    assert len(await post_spread(workers_process.url, 60)) == 60
    assert worker_pids(workers_process)[0] == first[0]


async def test_a_reload_through_one_worker_reaches_every_worker(workdir: Path, workers_process: GatewayProcess) -> None:
    workers_process.start()
    gamma = BETA_ROUTES.replace('org = "beta"', 'org = "gamma"')
    (workdir / "routes" / "gamma.toml").write_text(gamma)
    admin = {"authorization": "Bearer dev-admin-token"}
    async with httpx.AsyncClient(base_url=workers_process.url, timeout=10) as client:
        response = await client.post("/v1/admin/reload", headers=admin)
    assert response.status_code == 200, response.text
    assert "gamma" in response.json()["orgs"]

    headers = {"content-type": "application/json", **CREDENTIALS["beta"]["shiprocket"]}
    body = json.dumps({"awb": "G1", "shipment_status_id": 18}).encode()

    def reloaded_everywhere() -> bool:
        done = {
            int(str(e["worker"]))
            for e in events(workers_process)
            if e["event"] == "routes.reloaded" and "gamma" in str(e["orgs"])
        }
        return done == {0, 1}

    await wait_until(reloaded_everywhere, timeout=10, what="both workers reloaded")
    for _ in range(20):  # new connections: both workers answer for the new org
        async with httpx.AsyncClient(base_url=workers_process.url, timeout=10) as client:
            response = await client.post("/v1/gamma/webhooks/shiprocket", content=body, headers=headers)
        assert response.status_code == 200, response.text


async def test_sighup_reloads_the_routes_of_a_single_process_gateway(
    workdir: Path, gateway_process: GatewayProcess
) -> None:
    gateway_process.start()
    (workdir / "routes" / "gamma.toml").write_text(BETA_ROUTES.replace('org = "beta"', 'org = "gamma"'))
    assert gateway_process.proc is not None
    gateway_process.proc.send_signal(signal.SIGHUP)

    def reloaded() -> bool:
        return any(e["event"] == "routes.reloaded" and "gamma" in str(e["orgs"]) for e in events(gateway_process))

    await wait_until(reloaded, timeout=10, what="the routes reloaded")
    assert gateway_process.proc.poll() is None  # reloaded, not killed
    headers = {"content-type": "application/json", **CREDENTIALS["beta"]["shiprocket"]}
    body = json.dumps({"awb": "G2", "shipment_status_id": 18})
    async with httpx.AsyncClient(base_url=gateway_process.url, timeout=10) as client:
        response = await client.post("/v1/gamma/webhooks/shiprocket", content=body, headers=headers)
    assert response.status_code == 200, response.text


def test_workers_on_a_port_already_taken_exit_3_with_a_message(workdir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["serve", "--config", "gateway.toml", "--routes", "routes", "--port", str(port), "--workers", "2"]
        done = subprocess.run(
            [sys.executable, "-m", "gateway.cli", *argv],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 3
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
