"""BatchWriter's optional linger: under load it waits for more jobs (until as many as the
previous batch held are queued, or its deadline), when idle it never does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from gateway.batcher import BatchWriter


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.pauses: list[float] = []
        self.pausing = asyncio.Event()
        self.deadline: Callable[[], None] | None = None

    async def write(self, jobs: Sequence[str]) -> list[str]:
        self.batches.append(list(jobs))
        return [job.upper() for job in jobs]

    def call_later(self, seconds: float, callback: Callable[[], None]) -> None:
        # Stands in for the linger's timer: the test decides when the deadline passes.
        self.pauses.append(seconds)
        self.deadline = callback
        self.pausing.set()

    def resume(self) -> None:
        assert self.deadline is not None
        self.deadline()


def writer(rec: Recorder, linger: float) -> BatchWriter[str, str]:
    w: BatchWriter[str, str] = BatchWriter(rec.write, linger=linger)
    w._call_later = rec.call_later
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
    rec.resume()
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


async def test_the_linger_ends_once_as_many_jobs_wait_as_the_previous_batch_held() -> None:
    rec = Recorder()
    w = writer(rec, linger=0.002)
    assert await asyncio.gather(w.enqueue("a"), w.enqueue("b"), w.enqueue("c")) == ["A", "B", "C"]
    late = [w.enqueue("d")]
    await asyncio.wait_for(rec.pausing.wait(), 5)
    late += [w.enqueue("e"), w.enqueue("f")]  # with "d", as many as the last batch: no deadline needed
    assert await asyncio.wait_for(asyncio.gather(*late), 5) == ["D", "E", "F"]
    assert rec.batches == [["a", "b", "c"], ["d", "e", "f"]] and rec.pauses == [0.002]
    await w.stop()


async def test_the_linger_ends_at_its_deadline_when_fewer_jobs_come() -> None:
    rec = Recorder()
    w = writer(rec, linger=0.002)
    assert await asyncio.gather(w.enqueue("a"), w.enqueue("b"), w.enqueue("c")) == ["A", "B", "C"]
    late = [w.enqueue("d")]
    await asyncio.wait_for(rec.pausing.wait(), 5)
    late.append(w.enqueue("e"))
    for _ in range(5):  # yields: the writer would have written by now had "e" ended its wait
        await asyncio.sleep(0)
    assert rec.batches == [["a", "b", "c"]]
    rec.resume()
    assert await asyncio.gather(*late) == ["D", "E"]
    assert rec.batches == [["a", "b", "c"], ["d", "e"]]
    await w.stop()
