"""Background pruning of delivered data older than ``[store] retention`` (SPEC §10)."""

from __future__ import annotations

import asyncio
import contextlib

from gateway.clock import Clock
from gateway.logs import get_logger
from gateway.store.base import Store

log = get_logger("gateway.retention")

#: How often the pruner looks, and how many rows one transaction may delete (short
#: transactions: ingest shares the writer).
INTERVAL_SECONDS = 600.0
FIRST_PASS_SECONDS = 60.0
BATCH = 2000


class Pruner:
    def __init__(self, store: Store, clock: Clock, retention: float) -> None:
        self._store = store
        self._clock = clock
        self._retention = retention
        self._task: asyncio.Task[None] | None = None

    async def prune_once(self) -> int:
        """Prune everything due now, a batch at a time; return how many rows went."""
        before = self._clock.now() - self._retention
        total = 0
        while True:
            removed = await self._store.prune(before, BATCH)
            total += removed
            if removed < BATCH:
                break
            await asyncio.sleep(0)  # let requests in between batches
        if total:
            log.info("store.pruned", rows=total, older_than_s=int(self._retention))
        return total

    async def _run(self) -> None:
        # First pass a minute after start: start-up (and a backlog drain) goes first.
        await asyncio.sleep(FIRST_PASS_SECONDS)
        while True:
            try:
                await self.prune_once()
            except Exception as exc:  # a failed pass is retried at the next one
                log.error("store.prune_failed", error=repr(exc))
            await asyncio.sleep(INTERVAL_SECONDS)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="pruner")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
