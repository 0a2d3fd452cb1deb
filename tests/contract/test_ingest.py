"""Ingest: legs, dedupe, staleness, fan-out, shipment lookups — identical on every backend."""

from __future__ import annotations

import pytest
from helpers import T0, endpoint, event, ingest_one, job

from gateway.models import NotificationType as N
from gateway.models import ShipmentType
from gateway.store.base import Store

RET = ShipmentType.RETURN

# Also through the SQLite writer process, which `gateway serve` uses by default.
pytestmark = pytest.mark.parametrize("store", ["sqlite", "sqlite-child", "postgres"], indirect=True)


async def test_new_event_creates_a_leg_its_history_and_one_delivery_per_matching_endpoint(store: Store) -> None:
    await store.sync_file_endpoints("acme", [endpoint("all"), endpoint("returns", shipment_types=[RET])])
    got = await ingest_one(store, event("A1", N.PICKED_UP, T0))
    assert (got.duplicate, got.stale, got.deliveries) == (False, False, 1)
    [leg] = await store.shipment("acme", "A1")
    assert (leg.leg_id, leg.shipment_type, leg.awb, leg.current_status) == (got.leg_id, "FORWARD", "A1", "PICKED_UP")
    assert leg.status_time == T0
    assert [h.event_id for h in leg.history] == [got.event_id]
    assert leg.history[0].received_at == T0 + 100 and leg.history[0].source == "shiprocket"
    [delivery] = await store.deliveries(org="acme", endpoint=None, state=None, after_id=0, limit=10)
    assert (delivery.event_id, delivery.endpoint, delivery.state) == (got.event_id, "all", "pending")
    assert await store.shipment("acme", "other") == [] and await store.shipment("beta", "A1") == []


async def test_a_resent_event_is_a_duplicate_naming_the_first(store: Store) -> None:
    await store.sync_file_endpoints("acme", [endpoint("all")])
    first = await ingest_one(store, event("A1", N.IN_TRANSIT, T0))
    again = await ingest_one(store, event("A1", N.IN_TRANSIT, T0))
    assert (again.duplicate, again.event_id, again.deliveries, again.leg_id) == (True, first.event_id, 0, first.leg_id)
    other_code = await ingest_one(store, event("A1", N.IN_TRANSIT, T0, code="19"))
    no_code = await ingest_one(store, event("A1", N.IN_TRANSIT, T0, code=None))
    no_code_again = await ingest_one(store, event("A1", N.IN_TRANSIT, T0, code=None))
    assert not other_code.duplicate and not no_code.duplicate
    assert no_code_again.duplicate and no_code_again.event_id == no_code.event_id
    [leg] = await store.shipment("acme", "A1")
    assert len(leg.history) == 3
    assert len(await store.deliveries(org="acme", endpoint=None, state=None, after_id=0, limit=10)) == 3


async def test_duplicates_within_one_batch_and_per_job_outcomes(store: Store) -> None:
    first, second, third = job(event("A1", at=T0)), job(event("A1", at=T0)), job(event("B1", at=T0), event("B1", at=T0))
    out = await store.ingest([first, second, third])
    assert [len(o) for o in out if isinstance(o, list)] == [1, 1, 2]
    assert out[1][0].duplicate and out[1][0].event_id == first.event_ids[0]  # type: ignore[index]
    assert out[2][1].duplicate and out[2][1].event_id == third.event_ids[0]  # type: ignore[index]
    assert not out[0][0].duplicate and not out[2][0].duplicate  # type: ignore[index]


async def test_stale_events_are_kept_flagged_and_only_go_to_include_stale_endpoints(store: Store) -> None:
    await store.sync_file_endpoints("acme", [endpoint("all"), endpoint("with-stale", include_stale=True)])
    fresh = await ingest_one(store, event("A1", N.OUT_FOR_DELIVERY, T0 + 50))
    older = await ingest_one(store, event("A1", N.IN_TRANSIT, T0, code="17"))
    assert (fresh.stale, fresh.deliveries) == (False, 2)
    assert (older.stale, older.deliveries) == (True, 1)
    delivered = await ingest_one(store, event("A1", N.DELIVERED, T0 + 60, code="7"))
    after_terminal = await ingest_one(store, event("A1", N.OUT_FOR_DELIVERY, T0 + 70, code="17"))
    assert not delivered.stale and after_terminal.stale
    [leg] = await store.shipment("acme", "A1")
    assert (leg.current_status, leg.status_time) == ("DELIVERED", T0 + 60)  # never moves backwards
    assert [h.stale for h in leg.history] == [False, True, False, True]
    stale_rows = await store.deliveries(org="acme", endpoint="all", state=None, after_id=0, limit=10)
    assert [d.event_id for d in stale_rows] == [fresh.event_id, delivered.event_id]


async def test_unknown_statuses_are_recorded_but_do_not_move_the_leg(store: Store) -> None:
    await ingest_one(store, event("A1", N.PICKED_UP, T0))
    await ingest_one(store, event("A1", N.UNKNOWN, T0 + 10, code="99"))
    [leg] = await store.shipment("acme", "A1")
    assert (leg.current_status, leg.status_time, len(leg.history)) == ("PICKED_UP", T0, 2)
    assert leg.history[1].notification_type == "UNKNOWN" and not leg.history[1].stale


async def test_an_event_without_status_time_takes_the_received_time(store: Store) -> None:
    ev = event("A1", N.PICKED_UP)
    ev = type(ev)(**{**{f: getattr(ev, f) for f in ev.__slots__}, "status_time": None})  # type: ignore[attr-defined]
    await ingest_one(store, ev, at=T0 + 500)
    [leg] = await store.shipment("acme", "A1")
    assert leg.status_time == T0 + 500 and leg.history[0].status_time == T0 + 500


async def test_return_legs_learn_keys_and_a_second_return_of_an_order_gets_its_own_leg(store: Store) -> None:
    by_order = await ingest_one(
        store, event(None, N.RETURN_CREATED, T0, stype=RET, return_order_id="R1", forward_awb="F1")
    )
    with_awb = await ingest_one(
        store, event(None, N.RETURN_PICKED_UP, T0 + 10, stype=RET, return_order_id="R1", return_awb="RA1")
    )
    assert with_awb.leg_id == by_order.leg_id
    by_awb_only = await ingest_one(store, event("RA1", N.IN_TRANSIT, T0 + 20, stype=RET))
    assert by_awb_only.leg_id == by_order.leg_id
    second = await ingest_one(
        store, event(None, N.RETURN_PICKED_UP, T0 + 30, stype=RET, return_order_id="R1", return_awb="RA2")
    )
    assert second.leg_id != by_order.leg_id  # the weak key (order id) does not override the AWB
    [leg] = await store.shipment("acme", "RA1")
    assert (leg.awb, leg.forward_awb, leg.return_order_id, len(leg.history)) == ("RA1", "F1", "R1", 3)
    forward = await ingest_one(store, event("F1", N.DELIVERED, T0, code="7"))
    legs = await store.shipment("acme", "F1")  # the forward leg and the return legs of that AWB
    assert [g.leg_id for g in legs] == sorted([forward.leg_id, by_order.leg_id])
    assert {g.shipment_type for g in legs} == {"FORWARD", "RETURN"}


async def test_a_duplicate_found_through_a_key_learnt_earlier_in_the_same_batch(store: Store) -> None:
    first = await ingest_one(store, event(None, N.RETURN_CREATED, T0, stype=RET, return_order_id="R9"))
    teach = event(None, N.RETURN_PICKED_UP, T0, code="19", stype=RET, return_order_id="R9", return_awb="RA9")
    [out] = await store.ingest([job(teach, event("RA9", N.RETURN_CREATED, T0, stype=RET))])
    assert not isinstance(out, BaseException), out
    assert [(o.duplicate, o.leg_id) for o in out] == [(False, first.leg_id), (True, first.leg_id)]
    assert out[1].event_id == first.event_id


async def test_forward_and_return_legs_of_one_awb_are_separate(store: Store) -> None:
    fwd = await ingest_one(store, event("X1", N.IN_TRANSIT, T0))
    ret = await ingest_one(store, event("X1", N.RETURN_PICKED_UP, T0, stype=RET))
    assert fwd.leg_id != ret.leg_id
    assert len(await store.shipment("acme", "X1")) == 2


async def test_fan_out_follows_types_shipment_types_and_disabled_endpoints_park(store: Store) -> None:
    await store.sync_file_endpoints(
        "acme",
        [
            endpoint("all"),
            endpoint("delivered", types=["DELIVERED"]),
            endpoint("returns", types=["RETURN_*"], shipment_types=[RET]),
            endpoint("off"),
        ],
    )
    assert await store.set_disabled("acme", "off", True, "test", T0)
    await ingest_one(store, event("A1", N.IN_TRANSIT, T0))
    await ingest_one(store, event("A2", N.DELIVERED, T0, code="7"))
    await ingest_one(store, event("R1", N.RETURN_PICKED_UP, T0, stype=RET))
    rows = await store.deliveries(org="acme", endpoint=None, state=None, after_id=0, limit=50)
    pairs = sorted((d.endpoint, d.state) for d in rows)
    assert pairs == sorted(
        [("all", "pending")] * 3 + [("off", "parked")] * 3 + [("delivered", "pending"), ("returns", "pending")]
    )
    assert (await ingest_one(store, event("A3"), org="beta")).deliveries == 0


async def test_orgs_are_separate(store: Store) -> None:
    a = await ingest_one(store, event("A1"), org="acme")
    b = await ingest_one(store, event("A1"), org="beta")
    assert a.leg_id != b.leg_id and not b.duplicate
    assert [g.leg_id for g in await store.shipment("beta", "A1")] == [b.leg_id]


async def test_a_return_known_only_by_its_return_order_code_is_found_by_it(store: Store) -> None:
    ev = event(None, N.RETURN_CREATED, stype=RET, return_order_id="RET-9")
    await ingest_one(store, ev)
    [leg] = await store.shipment("acme", "RET-9")
    assert (leg.shipment_type, leg.awb, leg.return_order_id) == ("RETURN", None, "RET-9")
    assert await store.shipment("beta", "RET-9") == []
