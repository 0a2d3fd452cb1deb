"""``Deadlines``: a job not committed within its deadline fails with ``CommitTimeout`` (its
request is answered 503), and the writer does not write a job answered so already."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from gateway.batcher import BatchWriter, CommitTimeout, Deadlines


async def test_a_pending_future_fails_at_its_deadline_and_a_settled_one_is_left_alone() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(0.05)
    quick, slow = loop.create_future(), loop.create_future()
    deadlines.watch(quick)
    deadlines.watch(slow)
    quick.set_result("stored")
    started = loop.time()
    with pytest.raises(CommitTimeout, match=r"within 0\.05s"):
        await slow
    assert loop.time() - started >= 0.04 and quick.result() == "stored"
    later = loop.create_future()
    deadlines.watch(later)  # the timer is armed again for the next one
    with pytest.raises(CommitTimeout):
        await later
    deadlines.close()


async def test_the_writer_skips_a_job_whose_request_was_answered_while_the_store_stalled() -> None:
    stall = asyncio.Event()
    written: list[list[str]] = []

    async def write(jobs: Sequence[str]) -> list[str]:
        written.append(list(jobs))
        await stall.wait()
        return [job.upper() for job in jobs]

    writer: BatchWriter[str, str] = BatchWriter(write)
    writer.start()
    deadlines = Deadlines(0.05)
    stuck = writer.enqueue("a")  # being written when the store stalls
    await asyncio.sleep(0)
    queued = writer.enqueue("b")  # waits behind it
    for future in (stuck, queued):
        deadlines.watch(future)
    for future in (stuck, queued):
        with pytest.raises(CommitTimeout):
            await future
    stall.set()
    await writer.drain()
    # "a" committed after all (unacknowledged: a retry is a duplicate); "b" was never written.
    assert written == [["a"]]
    after = writer.enqueue("c")
    assert await after == "C" and written == [["a"], ["c"]]
    await writer.stop()
    deadlines.close()
