"""When to try a failed delivery again (SPEC §7.3): the schedule, jitter, Retry-After."""

from __future__ import annotations

import random
from collections.abc import Sequence

#: A Retry-After longer than this is read as this: a receiver cannot park us for days.
MAX_RETRY_AFTER = 24 * 3600.0


class RetryPolicy:
    def __init__(self, schedule: Sequence[float], jitter: float, rng: random.Random | None = None) -> None:
        self.schedule = tuple(schedule)
        self.jitter = jitter
        self._rng = rng or random.Random()

    def delay_after(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds until the next try after failed attempt number ``attempt`` (1-based);
        ``None`` when the schedule is used up and the delivery is failed."""
        if attempt > len(self.schedule):
            return None
        base = self.schedule[attempt - 1]
        delay = base * (1.0 + self._rng.uniform(-self.jitter, self.jitter)) if self.jitter else base
        if retry_after is not None:
            # Honour the receiver's ask, never sooner than our own schedule, within a clamp.
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        return max(delay, 0.0)
