"""Whether the store can commit now: the store's half of ``/readyz``.

``ping()`` only reads, and reads go on while every commit fails (a full disk, a read-only
filesystem) or hangs (a stalled disk): ``/readyz`` said 200 through 12 s of 503s on
ingest. So each store records what its commits do: every ingest batch that commits is
proof (``ok``), every write that fails for a reason of the store's own (``failed``:
not a bad job: ``dbthread.sqlite_fault``, ``postgres.pg_fault``) is a strike. Readiness then costs nothing under
load; when nothing has committed for ``FRESH_SECONDS``, or the latest outcome was a
failure, it commits a probe (one tiny durable write), at most one at a time, with a
deadline, so a stall answers 503 too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from gateway.logs import get_logger

log = get_logger("gateway.store")

#: A commit this recent, with no failure since, is proof enough: no probe.
FRESH_SECONDS = 1.0
#: A probe that has not committed by then fails the check (it goes on in the background).
PROBE_DEADLINE = 1.0
#: A probe's success is reused for this long: many pollers make one probe.
PROBE_REUSE = 0.25


def describe(error: BaseException | str) -> str:
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return text[:200]


class CommitHealth:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self.ok_at = float("-inf")
        self.failed_at = float("-inf")
        #: The latest failure, as ``/readyz`` reports it.
        self.error = ""
        self._probe: asyncio.Task[None] | None = None
        self._probe_started = float("-inf")

    def ok(self) -> None:
        """A durable commit went through (called per ingest batch or answer: kept cheap)."""
        now = self._monotonic()
        if self.failed_at > self.ok_at:
            log.info("store.commits_recovered", after=self.error)
        self.ok_at = now

    def failed(self, error: BaseException | str) -> None:
        """A write failed for a reason of the store's own (or did not commit in time)."""
        if not self.failing:
            log.error("store.commits_failing", error=describe(error))
        self.failed_at = self._monotonic()
        self.error = describe(error)

    @property
    def failing(self) -> bool:
        return self.failed_at > self.ok_at

    async def check(self, probe: Callable[[], Awaitable[None]]) -> str | None:
        """``None`` when the store can commit, else why not. ``probe`` commits a tiny
        durable write (raising if it cannot); it runs only when the record is not enough."""
        now = self._monotonic()
        if not self.failing and now - self.ok_at < FRESH_SECONDS:
            return None
        task = self._probe
        # A probe under way is joined (a stall must not pile probes up). A finished one's
        # success is reused for a moment (many pollers, one probe); after a failure, the
        # next check probes again at once, so recovery shows as soon as it happens.
        if task is None or (task.done() and (self.failing or now - self._probe_started >= PROBE_REUSE)):
            task = self._probe = asyncio.ensure_future(self._run(probe))
            self._probe_started = now
        try:
            async with asyncio.timeout(PROBE_DEADLINE):
                await asyncio.shield(task)
        except TimeoutError:
            return f"a test write has not committed within {PROBE_DEADLINE:g}s"
        return self.error if self.failing else None

    async def _run(self, probe: Callable[[], Awaitable[None]]) -> None:
        try:
            await probe()
        except Exception as exc:  # whatever stops the probe stops commits
            self.failed(exc)
        else:
            self.ok()

    async def close(self) -> None:
        task, self._probe = self._probe, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
