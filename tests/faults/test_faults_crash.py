"""Crashes of one SQLite-backed gateway under ingest: kill -9 (three times), the writer child
killed, kill -9 with slow deliveries in flight, and SIGTERM under load."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from faultload import Workload, ingesting
from faultprocs import Endpoint, drain, gateway, write_files, writer_child
from faultscenario import Scenario
from faultsink import slow
from support import wait_until

PATHS = ("/ordered", "/unordered")
NAMES = ("ordered", "unordered")


def two_endpoints(scenario: Scenario, latency: float = 0.0) -> list[Endpoint]:
    behaviour = slow(latency) if latency else None
    return [
        Endpoint("ordered", scenario.sink.serve("/ordered", behaviour)),
        Endpoint("unordered", scenario.sink.serve("/unordered", behaviour), ordered=False),
    ]


async def test_kill9_gateway_three_times_under_ingest(scenario: Scenario) -> None:
    write_files(scenario.workdir, two_endpoints(scenario))
    gw = scenario.keep(gateway(scenario.workdir))
    await asyncio.to_thread(gw.start)
    load = Workload("KL", streams=8)
    async with ingesting(load, lambda: [gw.url]):
        for round_ in range(3):
            await load.more(150)
            at = time.monotonic()
            await asyncio.to_thread(gw.kill, signal.SIGKILL)
            scenario.fault(f"kill -9 #{round_ + 1}", at)
            await asyncio.to_thread(gw.start)
        await load.more(150)
    await drain(gw.url, NAMES, 40)
    await scenario.check(load.requests, PATHS, gateway=gw.url)


async def test_kill9_sqlite_writer_child_under_ingest(scenario: Scenario) -> None:
    write_files(scenario.workdir, two_endpoints(scenario))
    gw = scenario.keep(gateway(scenario.workdir))
    await asyncio.to_thread(gw.start)
    load = Workload("WC", streams=8)
    async with ingesting(load, lambda: [gw.url]):
        await load.more(200)
        child = writer_child(gw)
        assert child is not None
        at = time.monotonic()
        os.kill(child, signal.SIGKILL)
        # The gateway starts a new writer child: webhooks meanwhile answer 503, nothing is lost.
        await wait_until(lambda: writer_child(gw) not in (None, child), timeout=10, what="a new writer child")
        scenario.fault("writer child kill -9", at, time.monotonic())
        await load.more(200)
    assert gw.proc is not None and gw.proc.poll() is None, "the gateway itself must survive its child"
    await drain(gw.url, NAMES, 40)
    await scenario.check(load.requests, PATHS, gateway=gw.url)


async def test_kill9_with_slow_deliveries_in_flight(scenario: Scenario) -> None:
    write_files(scenario.workdir, two_endpoints(scenario, latency=0.3))
    gw = scenario.keep(gateway(scenario.workdir))
    await asyncio.to_thread(gw.start)
    load = Workload("SL", streams=16)
    sink = scenario.sink
    async with ingesting(load, lambda: [gw.url]):
        await load.more(160)
    await wait_until(
        lambda: all(sink.open[p] > 0 for p in PATHS), timeout=10, what="deliveries in flight on both endpoints"
    )
    in_flight = sum(sink.open[p] for p in PATHS)
    at = time.monotonic()
    await asyncio.to_thread(gw.kill, signal.SIGKILL)
    scenario.fault("kill -9, deliveries in flight", at)
    await asyncio.to_thread(gw.start)
    # The dead process's leases (6 s) run out, then its in-flight deliveries go again.
    await drain(gw.url, NAMES, 40)
    await scenario.check(load.requests, PATHS, gateway=gw.url, note=f"{in_flight} in flight at the kill")


async def test_sigterm_under_load_exits_0_and_loses_nothing(scenario: Scenario) -> None:
    write_files(scenario.workdir, two_endpoints(scenario, latency=0.05))
    gw = scenario.keep(gateway(scenario.workdir))
    await asyncio.to_thread(gw.start)
    load = Workload("ST", streams=8)
    async with ingesting(load, lambda: [gw.url]):
        await load.more(200)
        code = await asyncio.to_thread(gw.kill, signal.SIGTERM)
        assert code == 0, f"SIGTERM: exit status {code}"
        stopped = time.monotonic()
        await asyncio.to_thread(gw.start)
        await load.more(150)
    await drain(gw.url, NAMES, 40)
    # A graceful stop finishes its attempts and records them: no fault window, no duplicate.
    unknown = sum(1 for r in load.requests if r.outcome == "unknown")
    await scenario.check(
        load.requests, PATHS, gateway=gw.url, note=f"stopped at +{stopped - scenario.started:.1f}s; {unknown} unknown"
    )
