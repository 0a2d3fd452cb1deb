"""Endpoints from the routes files, labels, migrations, ping — identical on every backend."""

from __future__ import annotations

from helpers import T0, endpoint

from gateway.store.base import Store


async def test_open_applied_every_migration_and_ping_answers(store: Store) -> None:
    assert await store.migrate() == []
    await store.ping()


async def test_sync_file_endpoints_adds_changes_removes_and_keeps_disabled(store: Store) -> None:
    await store.sync_file_endpoints("acme", [endpoint("a"), endpoint("b")])
    await store.sync_file_endpoints("beta", [endpoint("a")])
    records = {(r.org, r.name): r for r in await store.endpoints()}
    assert sorted(records) == [("acme", "a"), ("acme", "b"), ("beta", "a")]
    assert all(r.owner == "file" and r.version == 1 and not r.disabled for r in records.values())
    assert records["acme", "a"].config == endpoint("a")
    await store.set_disabled("acme", "a", True, "ops", T0)

    await store.sync_file_endpoints("acme", [endpoint("a", max_in_flight=3)])
    records = {(r.org, r.name): r for r in await store.endpoints()}
    assert sorted(records) == [("acme", "a"), ("beta", "a")]
    changed = records["acme", "a"]
    assert (changed.version, changed.config.max_in_flight, changed.disabled) == (2, 3, True)

    await store.sync_file_endpoints("acme", [endpoint("a", max_in_flight=3)])  # unchanged: no new version
    await store.sync_file_endpoints("acme", [endpoint("a", max_in_flight=3), endpoint("b")])  # b comes back
    records = {(r.org, r.name): r for r in await store.endpoints()}
    assert records["acme", "a"].version == 2 and records["acme", "b"].version == 3
    assert records["acme", "b"].last_success_at is None and records["acme", "b"].last_error is None


async def test_labels_first_result_wins(store: Store) -> None:
    first = {"awb": "L1", "orderId": "o-1"}
    assert await store.label("acme", "label", "ORD1", "S1") is None
    assert await store.save_label("acme", "label", "ORD1", "S1", "o-1", first, T0) == (first, True)
    assert await store.save_label("acme", "label", "ORD1", "S1", "o-2", {"awb": "L2"}, T0 + 1) == (first, False)
    assert await store.label("acme", "label", "ORD1", "S1") == first
    assert await store.label("acme", "return_awb", "ORD1", "S1") is None
    assert await store.label("beta", "label", "ORD1", "S1") is None
    assert await store.label_by_order_id("acme", "label", "o-1") == first
    assert await store.label_by_order_id("acme", "label", "o-2") is None
    ret = {"awb": "R1"}
    assert await store.save_label("acme", "return_awb", "ORD1", "", None, ret, T0) == (ret, True)
    assert await store.label("acme", "return_awb", "ORD1", "") == ret


async def test_a_label_claim_is_held_until_released_or_run_out(store: Store) -> None:
    key = ("acme", "return_awb", "RET-1", "")
    assert await store.claim_label(*key, "tok-a", T0, T0 + 60)
    assert not await store.claim_label(*key, "tok-b", T0 + 1, T0 + 61)  # another process is at it
    assert await store.claim_label("acme", "label", "RET-1", "", "tok-b", T0 + 1, T0 + 61)  # other keys are free
    await store.release_label_claim(*key, "tok-b")  # not the holder: changes nothing
    assert not await store.claim_label(*key, "tok-b", T0 + 2, T0 + 62)
    assert await store.claim_label(*key, "tok-c", T0 + 60, T0 + 120)  # the holder died: it ran out
    await store.release_label_claim(*key, "tok-c")
    assert await store.claim_label(*key, "tok-d", T0 + 61, T0 + 121)
