"""Per-endpoint token bucket (``rate_per_second``), on the injectable clock."""

from __future__ import annotations

from gateway.clock import Clock


class TokenBucket:
    def __init__(self, rate: float, clock: Clock, burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._tokens = self.capacity
        self._at = clock.now()

    def _refill(self) -> None:
        now = self._clock.now()
        if now > self._at:
            self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def available(self) -> int:
        self._refill()
        return int(self._tokens)

    def take(self, n: int = 1) -> None:
        self._refill()
        self._tokens -= n
