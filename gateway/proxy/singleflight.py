"""Concurrent identical requests share one piece of work (one upstream call).

The work runs in its own task: a caller that goes away (client disconnect) does not
cancel it, so an AWB the aggregator assigns is always stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._flights: dict[Hashable, asyncio.Task[T]] = {}
        self._waiters: dict[Hashable, int] = {}

    async def do(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """The result of ``work`` and whether this caller started it."""
        task = self._flights.get(key)
        leader = task is None
        if task is None:
            task = asyncio.get_running_loop().create_task(self._run(key, work))
            # Retrieved here so a flight every caller left does not warn when it fails.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._flights[key] = task
        self._waiters[key] = self._waiters.get(key, 0) + 1
        try:
            return await asyncio.shield(task), leader
        finally:
            self._waiters[key] -= 1
            if not self._waiters[key]:
                del self._waiters[key]

    async def _run(self, key: Hashable, work: Callable[[], Awaitable[T]]) -> T:
        try:
            return await work()
        finally:
            self._flights.pop(key, None)

    def waiting(self, key: Hashable) -> int:
        """Callers waiting on ``key`` now (tests use it to line up concurrent requests)."""
        return self._waiters.get(key, 0)

    async def drain(self) -> None:
        """Let in-flight work finish (shutdown): its results are stored, not lost."""
        tasks: list[asyncio.Task[Any]] = list(self._flights.values())
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
