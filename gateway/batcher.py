"""Group commit: one writer task folds the inserts of many in-flight requests into one
transaction, and each request is answered only after that transaction commits.

One commit per request caps ingest far below the HTTP ceiling
(docs/decisions/0001-group-commit.md).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from gateway.logs import get_logger

log = get_logger("gateway.batcher")

J = TypeVar("J")
R = TypeVar("R")

#: Upper bound on jobs per transaction; keeps one commit's latency bounded.
MAX_BATCH = 256


class BatchWriter(Generic[J, R]):
    def __init__(
        self,
        write: Callable[[Sequence[J]], Awaitable[list[R]]],
        *,
        max_batch: int = MAX_BATCH,
        linger: float = 0.0,
    ) -> None:
        """``linger``: at most this many seconds to wait for more jobs before writing, and
        only while the previous batch held more than one job (i.e. under load). The wait
        ends early once as many jobs are queued as the previous batch held: the requests
        that batch answered are the ones coming back. For stores whose cost is mostly per
        batch (PostgreSQL round trips); 0 = off."""
        self._write = write
        self._max_batch = max_batch
        self._linger = linger
        #: Schedules the linger's deadline (``loop.call_later``; tests replace it).
        self._call_later: Callable[[float, Callable[[], None]], asyncio.TimerHandle | None] | None = None
        self._enough: asyncio.Future[None] | None = None
        self._want = 0
        self._queue: asyncio.Queue[tuple[J, asyncio.Future[R]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.jobs = 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="batch-writer")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        task, self._task = self._task, None
        if task is None:
            return
        await self._queue.join()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def submit(self, job: J) -> R:
        return await self.enqueue(job)

    def enqueue(self, job: J) -> asyncio.Future[R]:
        """Queue ``job``; the future resolves after its batch is written (or fails)."""
        if self._task is None:
            raise RuntimeError("batch writer is not running")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((job, future))
        if self._enough is not None and self._queue.qsize() >= self._want:
            _settle(self._enough)
        return future

    async def drain(self) -> None:
        """Wait until everything queued so far has been written."""
        await self._queue.join()

    async def _run(self) -> None:
        queue = self._queue
        previous = 0
        while True:
            first = await queue.get()
            if previous > 1 and self._linger > 0 and queue.qsize() + 1 < previous:
                await self._wait_for(previous - 1)
            batch = [first]
            # Whatever queued while the last batch was committing is the next batch; the
            # optional linger (off by default) trades a little latency for fewer batches.
            while len(batch) < self._max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            previous = len(batch)
            # A job whose request has been answered already (its deadline passed while the
            # store stalled) is not written: nobody would learn it was stored.
            live = [(job, future) for job, future in batch if not future.done()]
            if not live:
                self.jobs += len(batch)
                for _ in batch:
                    queue.task_done()
                continue
            try:
                results = await self._write([job for job, _ in live])
            except Exception as exc:
                for _, future in live:
                    if not future.done():
                        future.set_exception(exc)
            else:
                _answer(live, results)
            finally:
                self.batches += 1
                self.jobs += len(batch)
                for _ in batch:
                    queue.task_done()

    async def _wait_for(self, queued: int) -> None:
        """Until ``queued`` jobs wait in the queue, or the linger is over."""
        loop = asyncio.get_running_loop()
        enough: asyncio.Future[None] = loop.create_future()
        self._enough, self._want = enough, queued
        timer = (self._call_later or loop.call_later)(self._linger, lambda: _settle(enough))
        try:
            await enough
        finally:
            self._enough = None
            if timer is not None:
                timer.cancel()


def _answer(batch: list[tuple[J, asyncio.Future[R]]], results: list[R]) -> None:
    late = 0
    for (_, future), result in zip(batch, results, strict=True):
        if not future.done():
            future.set_result(result)
        elif not future.cancelled():
            late += 1
    if late:
        # Answered 503 (commit_timeout) while being written: stored after all, and not
        # acknowledged; their senders' retries are answered as duplicates.
        log.warning("store.committed_after_deadline", jobs=late)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


J_contra = TypeVar("J_contra", contravariant=True)


class JobQueue(Protocol[J_contra, R]):
    """Something that takes jobs one by one and groups their commits itself."""

    @property
    def running(self) -> bool: ...

    def enqueue(self, job: J_contra) -> asyncio.Future[R]: ...


class DirectWriter(Generic[J, R]):
    """``BatchWriter``'s interface for a store that groups commits on its own side (the
    SQLite writer process): each job goes to it at once, many in flight together."""

    def __init__(self, queue: JobQueue[J, R]) -> None:
        self._queue = queue
        self._running = False
        self._in_flight: set[asyncio.Future[R]] = set()

    @property
    def running(self) -> bool:
        return self._running and self._queue.running

    def start(self) -> None:
        self._running = True

    async def stop(self) -> None:
        self._running = False
        await self.drain()

    async def drain(self) -> None:
        while self._in_flight:
            await asyncio.wait(list(self._in_flight))

    def submit(self, job: J) -> asyncio.Future[R]:
        return self.enqueue(job)

    def enqueue(self, job: J) -> asyncio.Future[R]:
        if not self._running:
            raise RuntimeError("batch writer is not running")
        future = self._queue.enqueue(job)
        self._in_flight.add(future)
        future.add_done_callback(self._in_flight.discard)
        return future


class CommitTimeout(Exception):
    """A job was not committed within its deadline: its request is answered now, and the
    job is not acknowledged (it may still commit, unannounced)."""


class Deadlines:
    """Fails each watched future still pending ``seconds`` after it was watched, with
    ``CommitTimeout``; what settles it later finds it done and leaves it (both writers
    check). One timer for all of them, armed at the oldest one's deadline, not one per
    request (docs/decisions/0009-one-timer-for-deadlines.md)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._watched: collections.deque[tuple[float, asyncio.Future[Any]]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None

    def watch(self, future: asyncio.Future[Any]) -> None:
        watched = self._watched
        while watched and watched[0][1].done():  # settled in order, mostly: keep it short
            watched.popleft()
        loop = future.get_loop()
        deadline = loop.time() + self.seconds
        watched.append((deadline, future))
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire)

    def _expire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now, watched = loop.time(), self._watched
        while watched and (watched[0][1].done() or watched[0][0] <= now):
            _, future = watched.popleft()
            if not future.done():
                future.set_exception(CommitTimeout(f"not committed within {self.seconds:g}s"))
        if watched:
            self._timer = loop.call_at(watched[0][0], self._expire)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._watched.clear()
