"""Claims under faults: an endpoint failing everything, and a clock that steps (issue 14).

An endpoint's retries due on their schedule come before its fresh backlog; a fresh delivery
is due whatever the clock says; on SQLite (the host's clock) a step back across a restart
strands neither a retry nor a lease.
"""

from __future__ import annotations

import pytest
from helpers import T0, endpoint, event, ingest_one

from gateway.models import NotificationType as N
from gateway.store.base import AttemptRecord, ClaimedDelivery, Completion, Store, Verdict

NOW = T0 + 1000
LEASE = 30.0
HOOK = ("acme", "hook")
HOUR = 3600.0

pytestmark = pytest.mark.parametrize("store", ["sqlite", "sqlite-child", "postgres"], indirect=True)


def failed(c: ClaimedDelivery, *, at: float, retry_in: float) -> Completion:
    attempt = AttemptRecord(at, 500, 3.0, "http status 500", "down")
    return Completion(c.id, c.lease_token, c.org, c.endpoint, Verdict.RETRY, attempt, next_attempt_at=at + retry_in)


async def backlog(store: Store, count: int, *, ordered: bool = False, awbs: list[str] | None = None) -> list[str]:
    await store.sync_file_endpoints("acme", [endpoint("hook", ordered=ordered, max_in_flight=2)])
    awbs = awbs or [f"A{i}" for i in range(count)]
    return [
        (await ingest_one(store, event(awb, N.IN_TRANSIT, T0 + i), at=T0 + 100 + i)).event_id
        for i, awb in enumerate(awbs)
    ]


async def claim(store: Store, now: float, slots: int = 2) -> list[ClaimedDelivery]:
    return await store.claim(now, {HOOK: slots}, LEASE)


async def test_a_failing_endpoint_gets_its_retries_on_schedule_while_it_has_a_backlog(store: Store) -> None:
    ids = await backlog(store, 8)
    first = await claim(store, NOW)
    await store.complete([failed(c, at=NOW, retry_in=5) for c in first], NOW)
    second = await claim(store, NOW + 1)  # the retries are not due yet: the backlog goes on
    assert [c.event_id for c in second] == ids[2:4]
    await store.complete([failed(c, at=NOW + 1, retry_in=5) for c in second], NOW + 1)
    due = await claim(store, NOW + 5)  # due now, and ahead of the four never tried
    assert [(c.event_id, c.attempt) for c in due] == [(ids[0], 2), (ids[1], 2)]
    await store.complete([failed(c, at=NOW + 5, retry_in=60) for c in due], NOW + 5)
    # Two retries due, and the slot left beside them goes to the backlog.
    later = await claim(store, NOW + 6, slots=3)
    assert [(c.event_id, c.attempt) for c in later] == [(ids[2], 2), (ids[3], 2), (ids[4], 1)]


async def test_retries_first_keep_an_ordered_shipment_in_order(store: Store) -> None:
    ids = await backlog(store, 4, ordered=True, awbs=["SAME", "OTHER", "SAME", "THIRD"])
    first = await claim(store, NOW)
    assert [c.event_id for c in first] == ids[:2]
    await store.complete([failed(c, at=NOW, retry_in=5) for c in first], NOW)
    # SAME's second update waits behind its first, which waits for its retry.
    assert [c.event_id for c in await claim(store, NOW + 1)] == [ids[3]]
    again = await claim(store, NOW + 5, slots=3)
    assert [(c.event_id, c.attempt) for c in again] == [(ids[0], 2), (ids[1], 2)]


async def test_a_retry_waits_for_its_schedule(store: Store) -> None:
    await backlog(store, 1)
    [c] = await claim(store, NOW)
    await store.complete([failed(c, at=NOW, retry_in=300)], NOW)
    assert await claim(store, NOW + 299) == []
    [again] = await claim(store, NOW + 300)
    assert again.id == c.id and again.attempt == 2


async def test_a_fresh_delivery_is_due_whatever_the_clock_says(store: Store) -> None:
    # Stored by a process whose clock ran an hour ahead of the one claiming.
    await store.sync_file_endpoints("acme", [endpoint("hook")])
    stored = await ingest_one(store, event("AHEAD"), at=NOW + HOUR)
    [c] = await claim(store, NOW)
    assert c.event_id == stored.event_id and c.attempt == 1


async def test_a_clock_step_back_across_a_restart_strands_no_retry(store: Store, backend: str) -> None:
    if backend == "postgres":
        pytest.skip("the database's clock does not step with the host's: nothing to rebase")
    ids = await backlog(store, 3)
    first = await claim(store, NOW)
    await store.complete([failed(c, at=NOW, retry_in=5) for c in first], NOW)
    assert await store.rebase_schedule(NOW) == 0.0  # the same clock: nothing moves
    back = NOW - HOUR  # the wall clock was an hour ahead while the retries were scheduled
    untried = await claim(store, back)  # the fresh delivery does not wait for the clock
    assert [c.event_id for c in untried] == [ids[2]]
    assert await claim(store, back + 5) == []  # without the rebase: stranded for an hour
    assert await store.rebase_schedule(back) == pytest.approx(HOUR)
    assert await store.rebase_schedule(back) == 0.0  # a second start does not shift again
    assert await claim(store, back + 4) == []  # still on its schedule, not early
    retried = await claim(store, back + 5)
    assert [(c.event_id, c.attempt) for c in retried] == [(ids[0], 2), (ids[1], 2)]


async def test_a_lease_taken_before_a_clock_step_back_does_not_hold_for_the_step(store: Store, backend: str) -> None:
    if backend == "postgres":
        pytest.skip("the database's clock does not step with the host's; leases of other processes hold")
    await backlog(store, 1)
    [held] = await claim(store, NOW)  # then the process died, and the clock went back an hour
    assert await claim(store, NOW - HOUR + LEASE - 1) != []  # its lease does not hold for the hour
    [row] = await store.deliveries(org="acme", endpoint="hook", state="pending", after_id=0, limit=10)
    assert row.id == held.id and row.attempt_count == 2
