"""PostgreSQL: three processes on one database with one killed, and every connection of the
gateway terminated by the server, under ingest."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from faultload import Workload, ingesting
from faultprocs import Endpoint, drain, gateway, write_files
from faultscenario import Scenario
from faultsink import slow
from pgsupport import ADMIN_DSN, create_database, drop_database, dsn, new_name, require_postgres

PATHS = ("/ordered", "/unordered")
NAMES = ("ordered", "unordered")


@pytest.fixture
async def database() -> AsyncIterator[str]:
    require_postgres()
    name = new_name("gw_faults")
    await create_database(name)  # empty: the gateways migrate it
    try:
        yield name
    finally:
        await drop_database(name)


def endpoints(scenario: Scenario) -> list[Endpoint]:
    # A receiver latency, so every process has deliveries in flight when a fault strikes.
    return [
        Endpoint("ordered", scenario.sink.serve("/ordered", slow(0.05))),
        Endpoint("unordered", scenario.sink.serve("/unordered", slow(0.05)), ordered=False),
    ]


async def test_postgres_three_processes_one_killed(scenario: Scenario, database: str) -> None:
    targets = endpoints(scenario)
    procs = []
    for i in range(3):
        write_files(scenario.workdir / f"p{i}", targets)
        procs.append(scenario.keep(gateway(scenario.workdir / f"p{i}", {"GATEWAY_STORE_URL": dsn(database)})))
    # One at a time: they would all migrate the empty database at once otherwise.
    for proc in procs:
        await asyncio.to_thread(proc.start)
    alive = list(procs)
    load = Workload("PK", streams=12)
    async with ingesting(load, lambda: [p.url for p in alive]):
        await load.more(300)
        at = time.monotonic()
        alive.remove(procs[1])
        await asyncio.to_thread(procs[1].kill, signal.SIGKILL)
        scenario.fault("kill -9 of one of three", at)
        await load.more(300)
    # The dead process's leases (6 s) run out; the survivors take its deliveries over.
    await drain(procs[0].url, NAMES, 40)
    await scenario.check(
        load.requests, PATHS, gateway=procs[0].url, routes=scenario.workdir / "p0" / "routes" / "acme.toml"
    )


async def terminate_backends(database: str) -> int:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()
    return sum(1 for r in rows if r[0])


async def test_postgres_every_connection_terminated_under_ingest(scenario: Scenario, database: str) -> None:
    write_files(scenario.workdir, endpoints(scenario))
    gw = scenario.keep(gateway(scenario.workdir, {"GATEWAY_STORE_URL": dsn(database)}))
    await asyncio.to_thread(gw.start)
    load = Workload("PT", streams=8)
    terminated = []
    async with ingesting(load, lambda: [gw.url]):
        await load.more(150)
        for round_ in range(3):
            at = time.monotonic()
            terminated.append(await terminate_backends(database))
            # Completions that failed on a dead connection are retried once their lease runs out.
            scenario.fault(f"pg_terminate_backend #{round_ + 1}", at, after=3.0)
            await load.more(150)
    assert all(terminated), f"connections terminated per round: {terminated}"
    await drain(gw.url, NAMES, 40)
    await scenario.check(load.requests, PATHS, gateway=gw.url, note=f"connections terminated per round: {terminated}")
