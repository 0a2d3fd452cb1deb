"""``SteadyClock``: the wall clock's time, the monotonic clock's pace, no steps."""

from __future__ import annotations

from gateway.clock import SteadyClock, steady_clock


class Host:
    """A host's two clocks, moved by hand: time passes on both, a step moves only the wall."""

    def __init__(self) -> None:
        self.wall_at = 1_750_000_000.0
        self.monotonic_at = 500.0

    def wall(self) -> float:
        return self.wall_at

    def monotonic(self) -> float:
        return self.monotonic_at

    def elapse(self, seconds: float) -> None:
        self.wall_at += seconds
        self.monotonic_at += seconds


def test_it_starts_at_the_wall_clock_and_keeps_real_time() -> None:
    host = Host()
    clock = SteadyClock(host.wall, host.monotonic)
    assert clock.now() == 1_750_000_000.0
    host.elapse(5)
    assert clock.now() == 1_750_000_005.0 and clock.step() == 0.0


def test_a_wall_clock_step_either_way_does_not_move_it() -> None:
    host = Host()
    clock = SteadyClock(host.wall, host.monotonic)
    host.wall_at += 3600  # an hour forward
    host.elapse(10)
    assert clock.now() == 1_750_000_010.0 and clock.step() == 3600.0
    host.wall_at -= 3600  # and back
    host.elapse(10)
    assert clock.now() == 1_750_000_020.0 and clock.step() == 0.0
    host.wall_at -= 7200  # two hours back from the true time: it never goes backwards
    before = clock.now()
    host.elapse(1)
    assert clock.now() == before + 1


def test_the_process_tree_shares_one() -> None:
    assert steady_clock() is steady_clock()
