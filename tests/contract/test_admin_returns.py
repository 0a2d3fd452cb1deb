"""Admin reads, API-owned endpoints, returns and QC updates — identical on every backend."""

from __future__ import annotations

from helpers import T0, endpoint, event, ingest_one

from gateway.models import NotificationType as N
from gateway.models import ShipmentType
from gateway.store.admin_types import EndpointWrite, NotificationQuery
from gateway.store.base import AttemptRecord, Completion, ReturnRecord, Store, Verdict

NOW = T0 + 1000


async def test_notification_search_filters_and_pages_newest_first(store: Store) -> None:
    a1 = await ingest_one(store, event("A1", N.PICKED_UP, T0), at=T0 + 10)
    a2 = await ingest_one(store, event("A1", N.IN_TRANSIT, T0 + 1), at=T0 + 20)
    ret = await ingest_one(
        store, event("RA1", N.RETURN_PICKED_UP, T0, stype=ShipmentType.RETURN, forward_awb="A1"), at=T0 + 30
    )
    other = await ingest_one(store, event("B1", N.IN_TRANSIT, T0), org="beta", at=T0 + 40)

    async def ids(**kw: object) -> list[str]:
        return [n.event_id for n in await store.notifications(NotificationQuery(**kw))]  # type: ignore[arg-type]

    assert await ids() == [other.event_id, ret.event_id, a2.event_id, a1.event_id]
    assert await ids(org="acme", awb="A1") == [ret.event_id, a2.event_id, a1.event_id]  # forward AWB finds returns
    assert await ids(awb="RA1") == [ret.event_id]
    assert await ids(notification_type="IN_TRANSIT") == [other.event_id, a2.event_id]
    assert await ids(since=T0 + 20, until=T0 + 40) == [ret.event_id, a2.event_id]
    first = await store.notifications(NotificationQuery(limit=2))
    rest = await store.notifications(NotificationQuery(before_seq=first[-1].seq, limit=10))
    assert [n.event_id for n in first + rest] == await ids()
    record = first[0]
    assert (record.org, record.source, record.received_at) == ("beta", "shiprocket", T0 + 40)
    assert record.envelope["eventId"] == other.event_id and record.deliveries == ()


async def test_notification_detail_has_deliveries_and_their_attempts(store: Store) -> None:
    await store.sync_file_endpoints("acme", [endpoint("x"), endpoint("y")])
    got = await ingest_one(store, event("A1"))
    assert await store.notification("evt_missing") is None
    claimed = await store.claim(NOW, {("acme", "x"): 1}, 30.0)
    await store.complete(
        [
            Completion(
                claimed[0].id,
                claimed[0].lease_token,
                "acme",
                "x",
                Verdict.RETRY,
                AttemptRecord(NOW, 500, 3.5, "HTTP 500", "nope"),
                next_attempt_at=NOW + 5,
            )
        ],
        NOW,
    )
    record = await store.notification(got.event_id)
    assert record is not None and record.envelope["eventId"] == got.event_id
    assert [(d.delivery.endpoint, d.delivery.state) for d in record.deliveries] == [("x", "pending"), ("y", "pending")]
    assert record.deliveries[0].attempts == (AttemptRecord(NOW, 500, 3.5, "HTTP 500", "nope"),)
    assert record.deliveries[1].attempts == ()


async def test_backlog_and_attempt_stats(store: Store) -> None:
    await store.sync_file_endpoints("acme", [endpoint("x", ordered=False)])
    for i in range(3):
        await ingest_one(store, event(f"A{i}"), at=T0 + i)
    assert await store.attempt_stats(0) == []
    a, b = await store.claim(NOW, {("acme", "x"): 2}, 30.0)
    await store.complete(
        [
            Completion(a.id, a.lease_token, "acme", "x", Verdict.DELIVERED, AttemptRecord(NOW, 200, 1.0, None, None)),
            Completion(b.id, b.lease_token, "acme", "x", Verdict.FAILED, AttemptRecord(NOW + 1, 500, 1.0, "x", None)),
        ],
        NOW + 1,
    )
    [backlog] = await store.backlog()
    assert (backlog.org, backlog.endpoint, backlog.count, backlog.oldest_at) == ("acme", "x", 1, T0 + 2)
    [stats] = await store.attempt_stats(NOW)
    assert (stats.org, stats.endpoint, stats.attempts, stats.successes) == ("acme", "x", 2, 1)
    [late] = await store.attempt_stats(NOW + 1)
    assert (late.attempts, late.successes) == (1, 0)


async def test_api_endpoints_create_replace_delete_and_respect_file_ownership(store: Store) -> None:
    await store.sync_file_endpoints("acme", [endpoint("file-owned")])
    assert await store.put_endpoint("acme", endpoint("file-owned", max_in_flight=2)) is EndpointWrite.FILE_OWNED
    assert await store.put_endpoint("acme", endpoint("api")) is EndpointWrite.CREATED
    await store.set_disabled("acme", "api", True, "ops", T0)
    assert await store.put_endpoint("acme", endpoint("api", max_in_flight=3)) is EndpointWrite.REPLACED
    records = {r.name: r for r in await store.endpoints()}
    assert (records["api"].owner, records["api"].version, records["api"].disabled) == ("api", 2, True)
    assert records["api"].config.max_in_flight == 3 and records["file-owned"].config.max_in_flight == 16

    await ingest_one(store, event("A1"))
    await ingest_one(store, event("A2"))
    assert await store.delete_endpoint("acme", "file-owned", NOW) == (EndpointWrite.FILE_OWNED, 0)
    assert await store.delete_endpoint("acme", "nope", NOW) == (EndpointWrite.NOT_FOUND, 0)
    assert await store.delete_endpoint("acme", "api", NOW) == (EndpointWrite.DELETED, 2)
    assert await store.delete_endpoint("acme", "api", NOW) == (EndpointWrite.NOT_FOUND, 0)
    assert {r.name for r in await store.endpoints()} == {"file-owned"}
    failed = await store.deliveries(org="acme", endpoint="api", state="failed", after_id=0, limit=10)
    assert len(failed) == 2 and all(d.last_error == "endpoint deleted" for d in failed)

    assert await store.put_endpoint("acme", endpoint("api")) is EndpointWrite.CREATED  # comes back fresh
    again = {r.name: r for r in await store.endpoints()}["api"]
    assert (again.disabled, again.version) == (False, 4)


def ret(code: str, leg_id: int | None = None, **kw: object) -> ReturnRecord:
    values: dict[str, object] = {
        "org": "acme",
        "return_order_code": code,
        "forward_order_code": "FO-1",
        "returns_system": "returns_prime",
        "awb": None,
        "transporter": None,
        "leg_id": leg_id,
        "event_id": None,
        "qc_status": None,
        "created_at": T0,
    }
    return ReturnRecord(**{**values, **kw})  # type: ignore[arg-type]


async def test_returns_are_recorded_once_by_code_or_leg(store: Store) -> None:
    first = ret("RO-1", awb="RA1")
    assert await store.save_return(first) == (first, True)
    stored, new = await store.save_return(ret("RO-1", awb="other"))
    assert not new and stored == first
    stored, new = await store.save_return(ret("RO-1", leg_id=7))  # learns its leg
    assert not new and (await store.get_return("acme", "RO-1")).leg_id == 7  # type: ignore[union-attr]
    stored, new = await store.save_return(ret("RO-2", leg_id=7))  # same leg, other code: the first one
    assert not new and stored.return_order_code == "RO-1"
    assert await store.get_return("acme", "RO-2") is None and await store.get_return("beta", "RO-1") is None
    assert await store.save_return(ret("RO-3", leg_id=9)) == (ret("RO-3", leg_id=9), True)
    found = await store.returns_for_legs("acme", [7, 9, 11])
    assert sorted(r.return_order_code for r in found) == ["RO-1", "RO-3"]
    assert await store.returns_for_legs("acme", []) == []


async def test_a_processing_update_is_an_ordered_outbox_row_with_its_own_body(store: Store) -> None:
    await store.save_return(ret("RO-1"))
    first = await store.add_processing_update("acme", "RO-1", "returns_prime", "PASS", b'{"a":1}', "wh_1", NOW)
    second = await store.add_processing_update("acme", "RO-1", "returns_prime", "FAIL", b'{"a":2}', "wh_2", NOW)
    assert second > first
    assert (await store.get_return("acme", "RO-1")).qc_status == "FAIL"  # type: ignore[union-attr]
    claimed = await store.claim(NOW, {("acme", "returns:returns_prime"): 5}, 30.0)
    assert [(c.id, c.event_id, c.kind, c.body) for c in claimed] == [(first, "wh_1", "returns_system", b'{"a":1}')]
