"""Claims, leases, completions, parking and replay — identical on every backend."""

from __future__ import annotations

import pytest
from helpers import T0, endpoint, event, ingest_one

from gateway.models import NotificationType as N
from gateway.store.base import AttemptRecord, ClaimedDelivery, Completion, DeliveryView, Store, Verdict

NOW = T0 + 1000
LEASE = 30.0

# Also through the SQLite writer process, which makes claims and completions for `gateway serve`.
pytestmark = pytest.mark.parametrize("store", ["sqlite", "sqlite-child", "postgres"], indirect=True)


def done(
    c: ClaimedDelivery, verdict: Verdict, *, at: float = NOW, status: int | None = 200, **kw: object
) -> Completion:
    return Completion(
        delivery_id=c.id,
        lease_token=c.lease_token,
        org=c.org,
        endpoint=c.endpoint,
        verdict=verdict,
        attempt=AttemptRecord(at, status, 12.5, None if status == 200 else "boom", "ok"),
        **kw,  # type: ignore[arg-type]
    )


async def rows(store: Store, **kw: str) -> list[DeliveryView]:
    return await store.deliveries(
        org=kw.get("org"), endpoint=kw.get("endpoint"), state=kw.get("state"), after_id=0, limit=100
    )


async def setup(store: Store, *, ordered: bool = True, count: int = 3, awb: str | None = None) -> list[str]:
    await store.sync_file_endpoints("acme", [endpoint("hook", ordered=ordered, max_in_flight=8)])
    ids = []
    for i in range(count):
        got = await ingest_one(store, event(awb or f"A{i}", N.IN_TRANSIT, T0 + i), at=T0 + 100 + i)
        ids.append(got.event_id)
    return ids


async def test_claim_takes_due_rows_earliest_first_within_the_free_slots(store: Store) -> None:
    ids = await setup(store, count=4)
    claimed = await store.claim(NOW, {("acme", "hook"): 2, ("acme", "nothing"): 5, ("beta", "hook"): 0}, LEASE)
    assert [c.event_id for c in claimed] == ids[:2]
    first = claimed[0]
    assert (first.org, first.endpoint, first.kind, first.attempt) == ("acme", "hook", "endpoint", 1)
    assert b'"eventId":"' + ids[0].encode() in first.body.replace(b" ", b"")
    assert first.created_at == T0 + 100
    rest = await store.claim(NOW, {("acme", "hook"): 10}, LEASE)
    assert [c.event_id for c in rest] == ids[2:]  # leased rows are not taken again
    assert await store.claim(NOW, {}, LEASE) == []


async def test_an_ordered_shipment_waits_for_its_earlier_delivery_and_others_do_not(store: Store) -> None:
    ids = await setup(store, count=3, awb="SAME")
    other = (await ingest_one(store, event("OTHER", N.IN_TRANSIT, T0), at=T0 + 200)).event_id
    claimed = await store.claim(NOW, {("acme", "hook"): 10}, LEASE)
    assert [c.event_id for c in claimed] == [ids[0], other]
    assert await store.claim(NOW, {("acme", "hook"): 10}, LEASE) == []  # ids[1] waits, even leased ids[0]
    retry = done(claimed[0], Verdict.RETRY, status=500, next_attempt_at=NOW + 60)
    assert [o.applied for o in await store.complete([retry, done(claimed[1], Verdict.DELIVERED)], NOW)] == [True] * 2
    assert await store.claim(NOW + 10, {("acme", "hook"): 10}, LEASE) == []  # still pending: still waits
    [again] = await store.claim(NOW + 60, {("acme", "hook"): 10}, LEASE)
    assert (again.event_id, again.attempt) == (ids[0], 2)
    await store.complete([done(again, Verdict.DELIVERED)], NOW + 60)
    assert [c.event_id for c in await store.claim(NOW + 60, {("acme", "hook"): 10}, LEASE)] == [ids[1]]


async def test_an_unordered_endpoint_sends_a_shipment_concurrently(store: Store) -> None:
    ids = await setup(store, ordered=False, count=3, awb="SAME")
    assert [c.event_id for c in await store.claim(NOW, {("acme", "hook"): 10}, LEASE)] == ids


async def test_an_expired_lease_is_taken_over_and_the_old_holder_is_fenced_off(store: Store) -> None:
    await setup(store, count=1)
    [mine] = await store.claim(NOW, {("acme", "hook"): 1}, LEASE)
    assert await store.claim(NOW + LEASE - 1, {("acme", "hook"): 1}, LEASE) == []
    [theirs] = await store.claim(NOW + LEASE, {("acme", "hook"): 1}, LEASE)
    assert theirs.id == mine.id and theirs.lease_token != mine.lease_token and theirs.attempt == 2
    [lost] = await store.complete([done(mine, Verdict.DELIVERED)], NOW + LEASE + 1)
    assert not lost.applied and lost.disabled_endpoint is None
    assert (await rows(store))[0].state == "pending"
    [won] = await store.complete([done(theirs, Verdict.DELIVERED)], NOW + LEASE + 1)
    assert won.applied
    [row] = await rows(store)
    assert (row.state, row.attempt_count, row.last_status) == ("delivered", 2, 200)


async def test_completion_verdicts(store: Store) -> None:
    await setup(store, ordered=False, count=3)
    a, b, c = await store.claim(NOW, {("acme", "hook"): 3}, LEASE)
    outcomes = await store.complete(
        [
            done(a, Verdict.DELIVERED),
            done(b, Verdict.RETRY, status=503, next_attempt_at=NOW + 5),
            done(c, Verdict.FAILED, status=500),
        ],
        NOW + 1,
    )
    assert [o.applied for o in outcomes] == [True, True, True]
    by_id = {r.id: r for r in await rows(store)}
    assert by_id[a.id].state == "delivered" and by_id[a.id].last_error is None
    assert (by_id[b.id].state, by_id[b.id].next_attempt_at, by_id[b.id].last_status) == ("pending", NOW + 5, 503)
    assert (by_id[c.id].state, by_id[c.id].last_error) == ("failed", "boom")
    [record] = await store.endpoints()
    assert record.last_success_at == NOW and record.failing_since == NOW and record.last_error == "boom"


async def test_410_disables_the_endpoint_and_parks_its_pending_deliveries(store: Store) -> None:
    await setup(store, ordered=False, count=3)
    first, *_ = await store.claim(NOW, {("acme", "hook"): 1}, LEASE)
    [outcome] = await store.complete([done(first, Verdict.GONE, status=410)], NOW + 1)
    assert outcome.applied and outcome.disabled_endpoint == "hook"
    assert sorted(r.state for r in await rows(store)) == ["parked", "parked", "parked"]
    [record] = await store.endpoints()
    assert record.disabled and record.disabled_reason and "410" in record.disabled_reason
    assert await store.claim(NOW + 2, {("acme", "hook"): 5}, LEASE) == []


async def test_disable_after_a_long_failing_streak(store: Store) -> None:
    await setup(store, ordered=False, count=3)
    a, b, c = await store.claim(NOW, {("acme", "hook"): 3}, LEASE)
    first = done(a, Verdict.RETRY, at=NOW, status=500, next_attempt_at=NOW + 5, disable_after=3600.0)
    assert (await store.complete([first], NOW))[0].disabled_endpoint is None
    late = done(b, Verdict.RETRY, at=NOW + 3600, status=500, next_attempt_at=NOW + 3700, disable_after=3600.0)
    [outcome] = await store.complete([late], NOW + 3600)
    assert outcome.disabled_endpoint == "hook"
    [record] = await store.endpoints()
    assert record.disabled and record.failing_since == NOW
    # The one still under lease finishes; a retry of a disabled endpoint's delivery parks.
    await store.complete([done(c, Verdict.RETRY, status=500, next_attempt_at=NOW + 9999)], NOW + 3601)
    assert sorted(r.state for r in await rows(store)) == ["parked", "parked", "parked"]


async def test_a_success_clears_the_failing_streak(store: Store) -> None:
    await setup(store, ordered=False, count=2)
    a, b = await store.claim(NOW, {("acme", "hook"): 2}, LEASE)
    await store.complete([done(a, Verdict.RETRY, status=500, next_attempt_at=NOW + 5)], NOW)
    await store.complete([done(b, Verdict.DELIVERED, at=NOW + 1)], NOW + 1)
    [record] = await store.endpoints()
    assert record.failing_since is None and record.last_success_at == NOW + 1


async def test_release_gives_leases_back_without_using_an_attempt(store: Store) -> None:
    await setup(store, count=2, ordered=False)
    a, b = await store.claim(NOW, {("acme", "hook"): 2}, LEASE)
    await store.release([(a.id, a.lease_token), (b.id, "not-the-token")])
    await store.release([])
    [again] = await store.claim(NOW, {("acme", "hook"): 2}, LEASE)
    assert (again.id, again.attempt) == (a.id, 1)


async def test_disable_parks_and_enable_resumes_in_order(store: Store) -> None:
    ids = await setup(store, count=2, awb="SAME")
    assert await store.set_disabled("acme", "hook", True, "maintenance", NOW)
    assert not await store.set_disabled("acme", "nope", True, None, NOW)
    [record] = await store.endpoints()
    assert (record.disabled, record.disabled_reason) == (True, "maintenance")
    later = (await ingest_one(store, event("SAME", N.DELIVERED, T0 + 9, code="7"), at=NOW)).event_id
    assert [r.state for r in await rows(store)] == ["parked"] * 3
    assert await store.claim(NOW, {("acme", "hook"): 5}, LEASE) == []
    assert await store.set_disabled("acme", "hook", False, None, NOW + 10)
    [record] = await store.endpoints()
    assert not record.disabled and record.disabled_reason is None
    assert all(r.state == "pending" and r.next_attempt_at == NOW + 10 for r in await rows(store))
    sent = []
    for _ in range(3):
        [c] = await store.claim(NOW + 10, {("acme", "hook"): 5}, LEASE)
        sent.append(c.event_id)
        await store.complete([done(c, Verdict.DELIVERED)], NOW + 10)
    assert sent == [*ids, later]


async def test_deliveries_given_back_while_their_endpoint_is_disabled_are_parked(store: Store) -> None:
    ids = await setup(store, count=3, awb="HELD")
    [first] = await store.claim(NOW, {("acme", "hook"): 5}, LEASE)  # ordered: one at a time
    assert first.event_id == ids[0]
    # Disabling parks what is not leased; the leased one is given back afterwards.
    assert await store.set_disabled("acme", "hook", True, "maintenance", NOW)
    await store.release([(first.id, first.lease_token)])
    assert [(r.state, r.attempt_count) for r in await rows(store)] == [("parked", 0)] * 3
    assert await store.set_disabled("acme", "hook", False, None, NOW + 10)
    sent = []
    for _ in range(3):
        [c] = await store.claim(NOW + 10, {("acme", "hook"): 5}, LEASE)
        sent.append(c.event_id)
        await store.complete([done(c, Verdict.DELIVERED)], NOW + 10)
    assert sent == ids  # in order, the given-back one first


async def test_deliveries_pages_by_id_and_filters(store: Store) -> None:
    await store.sync_file_endpoints("acme", [endpoint("x"), endpoint("y")])
    for i in range(3):
        await ingest_one(store, event(f"A{i}", at=T0 + i))
    await ingest_one(store, event("B", at=T0), org="beta")
    everything = await rows(store)
    assert len(everything) == 6 and [r.id for r in everything] == sorted(r.id for r in everything)
    page1 = await store.deliveries(org="acme", endpoint=None, state=None, after_id=0, limit=4)
    page2 = await store.deliveries(org="acme", endpoint=None, state=None, after_id=page1[-1].id, limit=4)
    assert [r.id for r in page1 + page2] == [r.id for r in everything]
    assert {r.endpoint for r in await rows(store, endpoint="y")} == {"y"}
    assert await rows(store, state="failed") == []
    assert len(await rows(store, org="acme", endpoint="x", state="pending")) == 3
    first = everything[0]
    assert (first.attempt_count, first.next_attempt_at, first.last_status, first.last_error) == (
        0,
        T0 + 100,
        None,
        None,
    )


async def test_retry_requeues_one_failed_delivery(store: Store) -> None:
    await setup(store, count=2, ordered=False)
    a, b = await store.claim(NOW, {("acme", "hook"): 2}, LEASE)
    await store.complete([done(a, Verdict.FAILED, status=500)], NOW)
    view = await store.retry_delivery(a.id, NOW + 5)
    assert view is not None
    assert (view.id, view.state, view.attempt_count, view.next_attempt_at) == (a.id, "pending", 0, NOW + 5)
    assert await store.retry_delivery(a.id, NOW + 5) is None  # no longer failed
    assert await store.retry_delivery(b.id, NOW + 5) is None  # never failed
    assert await store.retry_delivery(999_999, NOW) is None
    [again] = await store.claim(NOW + 5, {("acme", "hook"): 5}, LEASE)
    assert (again.id, again.event_id, again.attempt) == (a.id, a.event_id, 1)


async def test_retry_of_a_disabled_endpoints_delivery_parks_it(store: Store) -> None:
    await setup(store, count=1)
    [a] = await store.claim(NOW, {("acme", "hook"): 1}, LEASE)
    await store.complete([done(a, Verdict.FAILED, status=500)], NOW)
    await store.set_disabled("acme", "hook", True, None, NOW)
    view = await store.retry_delivery(a.id, NOW)
    assert view is not None and view.state == "parked"


async def test_recover_requeues_failed_deliveries_created_in_the_window(store: Store) -> None:
    await setup(store, count=3, ordered=False)  # created at T0+100, +101, +102
    claimed = await store.claim(NOW, {("acme", "hook"): 3}, LEASE)
    await store.complete([done(c, Verdict.FAILED, status=500) for c in claimed], NOW)
    assert await store.recover("acme", "hook", T0 + 101, T0 + 102, NOW + 5) == 1
    assert await store.recover("acme", "hook", T0 + 101, T0 + 102, NOW + 5) == 0
    assert await store.recover("acme", "other", 0, NOW, NOW) == 0
    states = {r.id: (r.state, r.attempt_count) for r in await rows(store)}
    assert sorted(states.values()) == [("failed", 1), ("failed", 1), ("pending", 0)]
    await store.set_disabled("acme", "hook", True, None, NOW)
    assert await store.recover("acme", "hook", 0, NOW, NOW + 6) == 2
    assert sorted(r.state for r in await rows(store)) == ["parked", "parked", "parked"]


async def test_a_batch_of_2xx_applies_those_whose_lease_held_and_logs_only_their_attempts(store: Store) -> None:
    await setup(store, ordered=False, count=2)
    [stale] = await store.claim(NOW, {("acme", "hook"): 1}, LEASE)
    [kept] = await store.claim(NOW + 1, {("acme", "hook"): 1}, LEASE)
    [taken] = await store.claim(NOW + LEASE, {("acme", "hook"): 2}, LEASE)  # only the first lease has run out
    assert taken.id == stale.id
    outcomes = await store.complete([done(stale, Verdict.DELIVERED), done(kept, Verdict.DELIVERED)], NOW + LEASE)
    assert [o.applied for o in outcomes] == [False, True]
    by_id = {r.id: r for r in await rows(store)}
    assert (by_id[stale.id].state, by_id[kept.id].state) == ("pending", "delivered")
    [stats] = await store.attempt_stats(0.0)
    assert (stats.org, stats.endpoint, stats.attempts) == ("acme", "hook", 1)
    assert [o.applied for o in await store.complete([done(taken, Verdict.DELIVERED)], NOW + LEASE)] == [True]
