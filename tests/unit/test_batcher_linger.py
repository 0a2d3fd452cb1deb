"""BatchWriter's optional linger: under load it waits for more jobs, when idle it never does."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from gateway.batcher import BatchWriter


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.pauses: list[float] = []
        self.pausing = asyncio.Event()
        self.resume = asyncio.Event()

    async def write(self, jobs: Sequence[str]) -> list[str]:
        self.batches.append(list(jobs))
        return [job.upper() for job in jobs]

    async def pause(self, seconds: float) -> None:
        # Stands in for the linger's sleep: the test decides when it is over.
        self.pauses.append(seconds)
        self.pausing.set()
        await self.resume.wait()


def writer(rec: Recorder, linger: float) -> BatchWriter[str, str]:
    w: BatchWriter[str, str] = BatchWriter(rec.write, linger=linger)
    w._pause = rec.pause
    w.start()
    return w


async def test_after_a_full_batch_the_writer_lingers_and_takes_what_arrives_meanwhile() -> None:
    rec = Recorder()
    w = writer(rec, linger=0.002)
    first = [w.enqueue("a"), w.enqueue("b")]
    assert await asyncio.gather(*first) == ["A", "B"]
    late = [w.enqueue("c")]
    await asyncio.wait_for(rec.pausing.wait(), 5)  # fails, not hangs, if it never lingers
    late.append(w.enqueue("d"))  # arrives while the writer lingers
    rec.resume.set()
    assert await asyncio.gather(*late) == ["C", "D"]
    assert rec.batches == [["a", "b"], ["c", "d"]] and rec.pauses == [0.002]
    await w.stop()


async def test_an_idle_writer_and_the_default_writer_never_linger() -> None:
    rec = Recorder()
    w = writer(rec, linger=0.002)
    assert await w.submit("a") == "A"  # a batch of one: not under load
    assert await w.submit("b") == "B"
    await w.stop()
    default = Recorder()
    d = writer(default, linger=0.0)
    assert await asyncio.gather(d.enqueue("a"), d.enqueue("b")) == ["A", "B"]
    assert await d.submit("c") == "C"
    await d.stop()
    assert rec.pauses == [] and default.pauses == []
    assert default.batches == [["a", "b"], ["c"]]
