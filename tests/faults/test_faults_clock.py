"""A wall-clock step of +1 h and back under SQLite, with libfaketime (Debian's ``faketime``)
preloaded into the gateway and its writer child: only the wall clock steps (monotonic time
does not), and no delivery may wait longer than its retry schedule says because it did."""

from __future__ import annotations

import asyncio
import email.utils
import os
import time
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
from faultload import Workload, ingesting
from faultprocs import Endpoint, drain, gateway, write_files
from faultscenario import Scenario
from faultsink import fail_first
from support import wait_until

#: Debian's multiarch place for it (x86_64-linux-gnu, aarch64-linux-gnu...).
LIBFAKETIMES = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
PATHS = ("/flaky", "/steady")
NAMES = ("flaky", "steady")
#: A first attempt failed, its retry is due 250 ms later (the schedule's first step). Allowed on
#: top: the attempt deadline, and 5 s for a loaded machine and libfaketime's one-second cache
#: in each process. A retry stranded by the step would wait the hour.
LONGEST_WAIT_S = 0.25 + 1.0 + 5.0
#: libfaketime reads the offset file again after this long.
FAKETIME_CACHE_S = 1


def libfaketime() -> Path:
    if not LIBFAKETIMES:
        reason = "no /usr/lib/*/faketime/libfaketime.so.1: the clock-step scenario needs Debian's faketime"
        if os.environ.get("CI"):
            pytest.fail(f"CI: {reason}", pytrace=False)
        pytest.skip(reason)
    return LIBFAKETIMES[0]


def step(offset_file: Path, offset: str) -> float:
    """Set the gateway's wall-clock offset: whole (a rename), for libfaketime re-reads the file."""
    staged = offset_file.with_suffix(".new")
    staged.write_text(f"{offset}\n")
    staged.replace(offset_file)
    return time.monotonic()


async def gateway_offset(base: str) -> float:
    """How far the gateway's wall clock is from ours, read off its Date header (1 s grain)."""
    async with httpx.AsyncClient(timeout=2) as client:
        response = await client.get(f"{base}/healthz")
    return email.utils.parsedate_to_datetime(response.headers["date"]).timestamp() - time.time()


async def stepped(base: str, offset_file: Path, offset: str, seconds: float) -> float:
    """Step the clock and wait (bounded) until the gateway's Date header shows it; then give its
    writer child, which reads the file on its own schedule, as long again."""
    at = step(offset_file, offset)

    async def moved() -> bool:
        return abs(await gateway_offset(base) - seconds) <= 5

    await wait_until(moved, timeout=10, interval=0.1, what=f"the gateway's clock moving to {offset}")
    await asyncio.sleep(FAKETIME_CACHE_S + 0.5)  # libfaketime's cache in the child: no signal to poll
    return at


async def test_wall_clock_step_forward_and_back(scenario: Scenario) -> None:
    preload = libfaketime()
    sink = scenario.sink
    # Every webhook's first attempt on /flaky fails, so each has a retry scheduled across a step.
    endpoints = [
        Endpoint("flaky", sink.serve("/flaky", fail_first(1))),
        Endpoint("steady", sink.serve("/steady"), ordered=False),
    ]
    write_files(scenario.workdir, endpoints)
    offset = scenario.workdir / "faketime"
    step(offset, "+0")
    env = {
        "LD_PRELOAD": str(preload),
        "FAKETIME_TIMESTAMP_FILE": str(offset),
        # Read again at most once a second: with FAKETIME_NO_CACHE every clock call, monotonic
        # ones included, reads the file, and the gateway slows enough to miss its own deadlines.
        "FAKETIME_CACHE_DURATION": str(FAKETIME_CACHE_S),
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
    gw = scenario.keep(gateway(scenario.workdir, env))
    await asyncio.to_thread(gw.start)
    # Many shipments, few updates each: /flaky is ordered, and each update costs it a retry.
    load = Workload("CK", streams=32, pace=1.0)
    async with ingesting(load, lambda: [gw.url]):
        await load.more(32)
        scenario.fault("wall clock +1 h", await stepped(gw.url, offset, "+1h", 3600))
        await load.more(32)
        scenario.fault("wall clock back to +0", await stepped(gw.url, offset, "+0", 0))
        await load.more(32)
    drained = "drained"
    try:
        await drain(gw.url, NAMES, 15)
    except AssertionError as exc:
        drained = str(exc)

    attempts: dict[str, list[float]] = defaultdict(list)
    for r in sink.received("/flaky"):
        attempts[r.webhook_id].append(r.at)
    waits = {w: t[1] - t[0] for w, t in attempts.items() if len(t) > 1}
    stranded = [w for w, t in attempts.items() if len(t) == 1]
    longest = max(waits.values(), default=0.0)
    await scenario.check(
        load.requests,
        PATHS,
        gateway=gw.url,
        note=f"{drained}; longest retry wait {longest:.2f}s; {len(stranded)} never retried",
    )
    slow = {w: round(s, 2) for w, s in waits.items() if s > LONGEST_WAIT_S}
    assert not slow, f"{len(slow)} retries waited longer than {LONGEST_WAIT_S}s: {dict(list(slow.items())[:10])}"
