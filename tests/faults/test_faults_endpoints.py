"""Endpoints that misbehave, beside a healthy one: each bad one ends as the schedule says
(dead letter, parked on 410, delivered after 429s), the gateway's memory stays bounded
against a 1 GiB answer, and the healthy endpoint gets everything, promptly."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import time
from collections import defaultdict
from pathlib import Path

from aiohttp import web
from faultload import Workload
from faultprocs import RETRY_SCHEDULE, Endpoint, drain, gateway, peak_rss, pid_of, write_files
from faultscenario import Scenario
from faultsink import Behaviour, Call, FaultSink, answer, drip, fail_first, hang, huge, reset
from support import wait_until

ATTEMPTS = len(RETRY_SCHEDULE) + 1
SCHEDULE_S = (0.25, 0.5, 0.5)  # RETRY_SCHEDULE in seconds
TIMEOUT_S = 1.0
#: How late a healthy endpoint's delivery may be after its webhook was acknowledged.
PROMPT_S = 2.0


def states(workdir: Path) -> dict[str, dict[tuple[str, int], int]]:
    """Per endpoint: (state, attempt count) -> deliveries."""
    out: dict[str, dict[tuple[str, int], int]] = defaultdict(dict)
    with contextlib.closing(sqlite3.connect(workdir / "data" / "gateway.db")) as conn:
        for endpoint, state, attempts, count in conn.execute(
            "SELECT endpoint, state, attempt_count, count(*) FROM deliveries GROUP BY 1, 2, 3"
        ):
            out[endpoint][(state, attempts)] = count
    return out


def attempt_times(sink: FaultSink, path: str) -> dict[str, list[float]]:
    times: dict[str, list[float]] = defaultdict(list)
    for r in sink.received(path):
        times[r.webhook_id].append(r.at)
    return times


def bad_endpoints(sink: FaultSink) -> dict[str, tuple[Behaviour, int]]:
    """name -> (behaviour, max_in_flight): the slow ones get slots for every delivery, so
    the scenario lasts the schedule, not the backlog."""
    return {
        "hang": (hang, 64),
        "drip": (drip, 64),
        "huge": (huge, 64),
        "redirect": (answer(302, {"location": "http://127.0.0.1:9/elsewhere"}), 16),
        "gone": (answer(410), 16),
        "throttle": (fail_first(2, 429, {"retry-after": "1"}), 16),
        "reset": (reset, 16),
    }


async def test_misbehaving_endpoints_leave_the_healthy_one_alone(scenario: Scenario) -> None:
    sink = scenario.sink
    endpoints = [Endpoint("healthy", sink.serve("/healthy"))]
    for name, (behaviour, slots) in bad_endpoints(sink).items():
        endpoints.append(Endpoint(name, sink.serve(f"/{name}", behaviour), ordered=False, max_in_flight=slots))
    write_files(scenario.workdir, endpoints)
    gw = scenario.keep(gateway(scenario.workdir))
    await asyncio.to_thread(gw.start)
    load = Workload("EP", streams=8)
    settling = [e.name for e in endpoints if e.name != "gone"]
    async with peak_rss(pid_of(gw)) as growth:
        await load.run(lambda: [gw.url], seconds=10, limit=48)
        await drain(gw.url, settling, 30)
        grew = growth()
    acked = {r.event_ids[0]: r.ended for r in load.requests if r.outcome == "ok"}
    delays = {r.webhook_id: r.at - acked[r.webhook_id] for r in sink.received("/healthy") if r.webhook_id in acked}
    slowest = max(delays.values(), default=0.0)
    await scenario.check(
        load.requests, ["/healthy"], gateway=gw.url, note=f"RSS +{grew:.0f} MB; healthy within {slowest:.2f}s"
    )
    late = {w: round(d, 2) for w, d in delays.items() if d > PROMPT_S}
    assert not late, f"healthy deliveries later than {PROMPT_S}s after acknowledgement: {late}"
    assert grew < 100, f"the gateway grew by {grew:.0f} MB against a 1 GiB answer"

    final = states(scenario.workdir)
    count = len(acked)
    for name in ("hang", "drip", "redirect", "reset"):
        assert final[name] == {("failed", ATTEMPTS): count}, f"{name}: {final[name]}"
    # A 200 is a 200: its body is read up to a cap (64 KiB), the rest never (SPEC §7.2).
    assert final["huge"] == {("delivered", 1): count}, final["huge"]
    assert final["throttle"] == {("delivered", 3): count}, final["throttle"]
    # 410: the endpoint is disabled at its first answer, everything parked, nothing retried.
    assert {state for state, _ in final["gone"]} == {"parked"}, final["gone"]
    retried = {w: len(t) for w, t in attempt_times(sink, "/gone").items() if len(t) > 1}
    assert not retried, f"deliveries tried again after a 410: {retried}"
    # 429 with Retry-After: 1 is waited out, though the schedule says 250 ms then 500 ms.
    for webhook_id, times in attempt_times(sink, "/throttle").items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(g >= 0.95 for g in gaps), f"{webhook_id}: Retry-After not honoured, gaps {gaps}"
    # A connection reset every time: dead letter once the schedule is used up, not later.
    # The slack is per attempt (a claim, a connect, a wake on a loaded 2-core box: 3.4 s was
    # seen for 1.25 s of schedule while another suite ran), still far below any stranding.
    budget = sum(SCHEDULE_S) + 1.0 * (len(SCHEDULE_S) + 1)
    for webhook_id, times in attempt_times(sink, "/reset").items():
        assert times[-1] - times[0] <= budget, f"{webhook_id}: {len(times)} attempts over {times[-1] - times[0]:.1f}s"


def slow_failure(seconds: float) -> Behaviour:
    async def act(call: Call) -> web.StreamResponse:
        await asyncio.sleep(seconds)  # a receiver that takes its time to fail
        return web.Response(status=503, text="down")

    return act


async def test_failing_endpoint_retries_are_not_starved_by_its_backlog(scenario: Scenario) -> None:
    """An endpoint failing everything, slowly, with four slots and a backlog of 160: each
    delivery's second attempt comes on schedule, not after the whole backlog's first."""
    sink = scenario.sink
    write_files(
        scenario.workdir,
        [
            Endpoint("healthy", sink.serve("/healthy")),
            Endpoint("failing", sink.serve("/failing", slow_failure(0.5)), ordered=False, max_in_flight=4),
        ],
    )
    gw = scenario.keep(gateway(scenario.workdir))
    await asyncio.to_thread(gw.start)
    load = Workload("RS", streams=8)
    await load.run(lambda: [gw.url], seconds=10, limit=160)
    await wait_until(
        lambda: len(sink.received("/failing")) >= 40, timeout=15, what="40 attempts on the failing endpoint"
    )
    # One slot frees every 125 ms; a retry is due 250 ms after its failure.
    allowance = 0.5 + SCHEDULE_S[0] + 0.5 + 2.25
    await wait_until(
        lambda: time.monotonic() - sink.received("/failing")[0].at > allowance + 3, timeout=15, what="a few rounds"
    )
    now = time.monotonic()
    times = attempt_times(sink, "/failing")
    waiting = {w: round(now - t[0], 2) for w, t in times.items() if len(t) == 1 and now - t[0] > allowance}
    await drain(gw.url, ["healthy"], 20)
    await scenario.check(
        load.requests, ["/healthy"], gateway=gw.url, note=f"{len(times)} tried, {len(waiting)} starved"
    )
    assert not waiting, f"{len(waiting)} deliveries tried once and waiting longer than {allowance}s: {waiting}"
