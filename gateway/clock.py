"""Time as a collaborator, so tests drive retries and leases without sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock time, epoch seconds."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class SteadyClock:
    """Wall time read once, then carried forward by the monotonic clock: it never steps.

    Due times and leases are stored as epoch seconds and compared with ``now()`` later. On
    the host's clock, a step back of an hour (NTP correcting a bad clock, an operator)
    stranded every delivery scheduled before it for that hour; a step forward made them all
    due at once. ``CLOCK_MONOTONIC`` is slewed by NTP like the wall clock but never
    stepped, so this clock keeps the pace of real time and ignores steps until the process
    tree restarts (``steady_clock()``).
    """

    def __init__(self, wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._wall = wall
        self._offset = wall() - monotonic()

    def now(self) -> float:
        return self._monotonic() + self._offset

    def step(self) -> float:
        """How far the wall clock has stepped since the anchor (positive: ahead of ``now()``)."""
        return self._wall() - self.now()


#: Anchored when this module is first imported: in ``gateway serve`` that is the parent,
#: before it forks the workers, so every worker (and a worker started again after it died)
#: runs on the same time line.
_STEADY = SteadyClock()


def steady_clock() -> SteadyClock:
    """The process tree's ``SteadyClock``."""
    return _STEADY


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, when: float) -> None:
        self._now = when
