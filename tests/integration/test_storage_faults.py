"""The real app on a SQLite store that cannot commit: a full disk (a small tmpfs, filled for
real) and a stalled one (the file's writer lock held, as a commit stuck in fsync holds it).

``/readyz`` answers 503 while the store cannot commit and 200 again by itself; a webhook
is answered 503 with Retry-After and acknowledged never, within ``[inbound]
commit_timeout``; what a stalled commit stored after all comes back as a duplicate.
Both writers: the store's thread and the writer process.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import Gateway, wait_until

from gateway.settings import Settings, load_settings
from gateway.store.dbthread import writer_lock_path

WRITERS = pytest.mark.parametrize("child", [False, True], ids=["writer-thread", "writer-process"])


def sr(awb: str) -> dict[str, Any]:
    return {
        "awb": awb,
        "shipment_status_id": 18,
        "shipment_status": "IN TRANSIT",
        "current_timestamp": "14 03 2025 09:00:00",
        "order_id": f"O-{awb}",
    }


def settings_for(db: Path, *, child: bool, commit_timeout: str = "5s") -> Settings:
    return load_settings(
        None,
        {
            "GATEWAY_STORE_URL": f"sqlite:///{db}",
            "GATEWAY_STORE_WRITER_PROCESS": "true" if child else "false",
            "GATEWAY_INBOUND_COMMIT_TIMEOUT": commit_timeout,
        },
    )


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def disk_full(disk: Path) -> Iterator[None]:
    """Fill ``disk`` to the last byte; the space returns when the block ends."""
    filler = disk / "filler"
    with filler.open("wb") as f:
        chunk = b"\0" * 65536
        with contextlib.suppress(OSError):
            while True:
                f.write(chunk)
                f.flush()
        try:
            while True:  # what is left, a byte at a time
                os.write(f.fileno(), b"\0")
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    try:
        yield
    finally:
        filler.unlink()


@contextlib.contextmanager
def stalled(db: Path) -> Iterator[None]:
    """No commit gets through until the block ends: the file's writer lock is held."""
    fd = os.open(writer_lock_path(db), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


async def timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


def unavailable(response: httpx.Response) -> bool:
    return (
        response.status_code == 503
        and int(response.headers["retry-after"]) > 0
        and response.headers["content-type"].startswith("application/problem+json")
    )


@WRITERS
async def test_a_full_disk_is_503_on_readyz_and_ingest_until_space_returns(
    gateway_factory: Callable[..., Any], tmp_path: Path, child: bool
) -> None:
    with tmpfs(tmp_path / "disk", "8m") as disk:
        async with gateway_factory(settings=settings_for(disk / "gateway.db", child=child)) as gw:
            with disk_full(disk):
                idle, took = await timed(gw.client.get("/readyz"))  # no traffic: the probe finds out
                assert unavailable(idle) and "full" in idle.json()["detail"] and took < 2
                refused = await gw.webhook("acme", "shiprocket", sr("FULL1"))
                assert unavailable(refused) and "nothing was acknowledged" in refused.json()["detail"]
                ready, took = await timed(gw.client.get("/readyz"))
                assert unavailable(ready) and took < 2
            ready, took = await timed(gw.client.get("/readyz"))  # space is back
            assert ready.status_code == 200 and took < 2
            # Never stored, so the sender's retry is new, not a duplicate.
            retried = await gw.webhook("acme", "shiprocket", sr("FULL1"))
            assert retried.status_code == 200 and retried.json()["accepted"] == 1


async def warm_up(gw: Gateway) -> None:
    """Until a webhook commits within the short deadline: a writer process just started is
    still importing its modules (the first answers take a second on a busy box)."""

    async def committed() -> bool:
        return (await gw.webhook("acme", "shiprocket", sr("WARM"))).status_code == 200

    await wait_until(committed, timeout=10, interval=0, what="a webhook committed")


@WRITERS
async def test_a_stalled_commit_is_answered_503_at_the_deadline_and_its_retry_is_a_duplicate(
    gateway_factory: Callable[..., Any], tmp_path: Path, child: bool
) -> None:
    db = tmp_path / "gateway.db"
    async with gateway_factory(settings=settings_for(db, child=child, commit_timeout="0.3s")) as gw:
        await warm_up(gw)
        with stalled(db):
            refused, took = await timed(gw.webhook("acme", "shiprocket", sr("STALL1")))
            assert unavailable(refused) and 0.3 <= took < 1.3
            assert "not acknowledged" in refused.json()["detail"]
            ready = await gw.client.get("/readyz")
            assert unavailable(ready) and "commit" in ready.json()["detail"]
        # The stall is over: the refused event was stored after all, unacknowledged, so the
        # sender's retry is acknowledged as a duplicate of it.
        retried = await gw.webhook("acme", "shiprocket", sr("STALL1"))
        assert retried.status_code == 200 and retried.json()["duplicates"] == 1
        assert (await gw.client.get("/readyz")).status_code == 200
