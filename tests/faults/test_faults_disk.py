"""A disk that fills up under SQLite: the store lives on a small tmpfs, a ballast file takes
the rest of it while webhooks flow. Webhooks are answered 503 without being acknowledged,
``/readyz`` says so within 2 s, and both recover within 2 s of the ballast's removal."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from faultload import Workload, ingesting
from faultprocs import Endpoint, drain, gateway, write_files
from faultscenario import Scenario
from support import wait_until

PATHS = ("/ordered", "/unordered")
NAMES = ("ordered", "unordered")
DISK_MB = 8
#: How soon /readyz and webhooks must follow the disk filling up, and space coming back.
WITHIN_S = 2.0


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of ``DISK_MB``, mounted for this test (root only: skipped elsewhere)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m", "tmpfs", str(disk)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a {DISK_MB} MB tmpfs here ({done.stderr.strip()}): the disk-full scenario needs root"
        )
    try:
        yield disk
    finally:
        # The gateway is stopped by then (``scenario`` is torn down first); lazily, if not.
        if subprocess.run(["umount", str(disk)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def fill(disk: Path) -> Path:
    """Write a ballast file until the disk refuses more (bounded by the disk's size)."""
    ballast = disk / "ballast"
    chunk = bytes(256 * 1024)
    with ballast.open("wb", buffering=0) as f:
        for _ in range(DISK_MB * 4 + 8):
            try:
                f.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    return ballast


async def readyz(base: str) -> int:
    async with httpx.AsyncClient(timeout=1.0) as client:
        try:
            return (await client.get(f"{base}/readyz")).status_code
        except httpx.TransportError:
            return 0


async def ready_is(base: str, status: int, within: float) -> float | None:
    """Seconds until ``/readyz`` answers ``status`` (polled), or None if not within ``within``."""
    start = time.monotonic()

    async def answers() -> bool:
        return await readyz(base) == status

    with contextlib.suppress(AssertionError):  # not within: a measurement, judged by the caller
        await wait_until(answers, timeout=within, interval=0.1, what=f"/readyz answering {status}")
        return time.monotonic() - start
    return None


def seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f}s"


async def test_disk_full_answers_503_and_recovers(small_disk: Path, scenario: Scenario) -> None:
    sink = scenario.sink
    endpoints = [
        Endpoint("ordered", sink.serve("/ordered")),
        Endpoint("unordered", sink.serve("/unordered"), ordered=False),
    ]
    write_files(scenario.workdir, endpoints, store_url=f"sqlite:///{small_disk / 'gateway.db'}")
    gw = scenario.keep(gateway(scenario.workdir))
    await asyncio.to_thread(gw.start)
    # Longer than the gateway's commit deadline: a webhook it gives up on is answered, not timed out.
    load = Workload("DF", streams=8, timeout=10.0)
    async with ingesting(load, lambda: [gw.url]):
        await load.more(150)
        full_at = time.monotonic()
        ballast = await asyncio.to_thread(fill, small_disk)
        not_ready = await ready_is(gw.url, 503, WITHIN_S)
        # Full for a while, under ingest: nothing may be acknowledged that is not stored.
        await wait_until(lambda: time.monotonic() - full_at > 3.0, timeout=5, what="three seconds of a full disk")
        refused = [r for r in load.requests if r.started > full_at + WITHIN_S and r.outcome != "ok"]
        accepted_full = sum(1 for r in load.requests if r.started > full_at + WITHIN_S and r.outcome == "ok")
        freed_at = time.monotonic()
        os.unlink(ballast)
        ready_again = await ready_is(gw.url, 200, WITHIN_S)
        await wait_until(
            lambda: any(r.started > freed_at and r.outcome == "ok" for r in load.requests),
            timeout=10,
            what="a webhook acknowledged after the disk has room again",
        )
        back = min(r.ended for r in load.requests if r.started > freed_at and r.outcome == "ok") - freed_at
        scenario.fault("disk full", full_at, freed_at, after=3.0)
        await load.more(100)
    await drain(gw.url, NAMES, 40)
    statuses = sorted({r.status for r in refused if r.status is not None})
    await scenario.check(
        load.requests,
        PATHS,
        gateway=gw.url,
        note=f"readyz 503 after {seconds(not_ready)}, 200 after {seconds(ready_again)}; webhooks back in {back:.2f}s; "
        f"while full: {len(refused)} refused {statuses}, {accepted_full} acknowledged",
    )
    assert refused and all(r.status == 503 and r.retry_after for r in refused), (
        f"while full, webhooks must be answered 503 with Retry-After: {[(r.status, r.error) for r in refused[:5]]}"
    )
    assert not_ready is not None, f"/readyz did not answer 503 within {WITHIN_S}s of the disk filling up"
    assert ready_again is not None, f"/readyz did not answer 200 within {WITHIN_S}s of space returning"
    assert back <= WITHIN_S, f"webhooks acknowledged again only {back:.2f}s after space returned"
