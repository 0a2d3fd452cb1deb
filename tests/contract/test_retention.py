"""Retention: delivered data older than the cut-off goes; anything still owed stays."""

from __future__ import annotations

from helpers import T0, endpoint, event, ingest_one

from gateway.store.base import AttemptRecord, Completion, ReturnRecord, Store, Verdict


async def test_prune_removes_only_old_fully_delivered_notifications(store: Store) -> None:
    await store.sync_file_endpoints("acme", [endpoint("x", ordered=False)])
    old_done = await ingest_one(store, event("OLD1"), at=T0)
    old_failed = await ingest_one(store, event("OLD2"), at=T0 + 1)
    recent = await ingest_one(store, event("NEW1"), at=T0 + 5000)
    claimed = {c.event_id: c for c in await store.claim(T0 + 6000, {("acme", "x"): 3}, 30.0)}
    done, failed, new = claimed[old_done.event_id], claimed[old_failed.event_id], claimed[recent.event_id]
    await store.complete(
        [
            Completion(
                done.id, done.lease_token, "acme", "x", Verdict.DELIVERED, AttemptRecord(T0, 200, 1, None, None)
            ),
            Completion(
                failed.id, failed.lease_token, "acme", "x", Verdict.FAILED, AttemptRecord(T0, 500, 1, "x", None)
            ),
            Completion(new.id, new.lease_token, "acme", "x", Verdict.DELIVERED, AttemptRecord(T0, 200, 1, None, None)),
        ],
        T0 + 6000,
    )
    assert await store.prune(T0 + 1000, 100) == 1
    assert await store.notification(old_done.event_id) is None
    kept = await store.notification(old_failed.event_id)
    assert kept is not None and [d.delivery.state for d in kept.deliveries] == ["failed"]
    assert await store.notification(recent.event_id) is not None
    assert await store.prune(T0 + 1000, 100) == 0  # idempotent
    # The shipment's current status survives its history.
    legs = await store.shipment("acme", "OLD1")
    assert [leg.current_status for leg in legs] == ["IN_TRANSIT"] and legs[0].history == ()


async def test_prune_goes_in_batches_and_takes_delivered_qc_updates(store: Store) -> None:
    for i in range(5):
        await ingest_one(store, event(f"B{i}"), at=T0 + i)  # no endpoints: nothing owed
    assert await store.prune(T0 + 1000, 2) == 2
    assert await store.prune(T0 + 1000, 2) == 2
    assert await store.prune(T0 + 1000, 2) == 1
    await store.save_return(ReturnRecord("acme", "R1", "F1", "clickpost", None, None, None, None, None, T0))
    delivery_id = await store.add_processing_update("acme", "R1", "clickpost", "PASS", b"{}", "qc_1", T0)
    [qc] = await store.claim(T0, {("acme", "returns:clickpost"): 1}, 30.0)
    assert qc.id == delivery_id
    await store.complete(
        [
            Completion(
                qc.id,
                qc.lease_token,
                "acme",
                "returns:clickpost",
                Verdict.DELIVERED,
                AttemptRecord(T0, 200, 1, None, None),
            )
        ],
        T0,
    )
    assert await store.prune(T0 + 1000, 10) == 1
    assert await store.deliveries(org="acme", endpoint=None, state=None, after_id=0, limit=10) == []


async def test_prune_drops_label_claims_that_ran_out_before_the_cut(store: Store) -> None:
    assert await store.claim_label("acme", "label", "OLD", "", "dead", T0, T0 + 60)
    assert await store.claim_label("acme", "label", "NEW", "", "alive", T0, T0 + 5000)
    assert await store.prune(T0 + 1000, 100) == 0  # claims are not counted as data
    # The run-out claim is gone (a new holder gets the key even "before" its old end);
    # the live one still holds.
    assert await store.claim_label("acme", "label", "OLD", "", "new", T0 + 10, T0 + 70)
    assert not await store.claim_label("acme", "label", "NEW", "", "new", T0 + 10, T0 + 70)
