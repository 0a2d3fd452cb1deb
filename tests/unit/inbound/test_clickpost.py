"""ClickPost webhook parsing: fixtures, every status-code row, and what ClickPost really sends (domain.md S11–S16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inbound_checks import WEBHOOK_FIXTURES, fixture_files, only_event, parse_fixture

from gateway.inbound import clickpost
from gateway.inbound.base import Unidentifiable
from gateway.models import InboundEvent, Item, NotificationType, ShipmentType, Source
from gateway.values import IST

FIXTURE_FILES = fixture_files(Source.CLICKPOST)

T = NotificationType

#: The table as domain.md §3.4/§6.3 reads in SPEC §6 names, written out independently of the module.
EXPECTED_FORWARD: dict[int, str] = {
    1: "AWB_GENERATED", 28: "AWB_GENERATED", 2: "PICKUP_SCHEDULED", 25: "OUT_FOR_PICKUP",
    3: "PICKUP_FAILED", 4: "PICKED_UP", 5: "IN_TRANSIT", 18: "IN_TRANSIT", 6: "OUT_FOR_DELIVERY",
    7: "FAILED_DELIVERY", 9: "FAILED_DELIVERY", 8: "DELIVERED", 10: "CANCELLED", 11: "RTO", 12: "RTO",
    21: "RTO_IN_TRANSIT", 26: "RTO_IN_TRANSIT", 27: "RTO_IN_TRANSIT", 15: "RTO_IN_TRANSIT",
    13: "RTO_OUT_FOR_DELIVERY", 14: "RTO_DELIVERED", 16: "LOST", 17: "DAMAGED", 19: "SHIPMENT_STUCK",
    20: "SHIPMENT_STUCK", 30: "EXCHANGE_PICKUP", 31: "IN_TRANSIT", 32: "EXCHANGE_DELIVERED",
    101: "RETURN_CREATED",
}  # fmt: skip
#: Where a reverse pickup has its own name; every other code keeps the forward name.
EXPECTED_RVP_OVERRIDES: dict[int, str] = {4: "RETURN_PICKED_UP", 8: "RETURN_DELIVERED", 10: "RETURN_CANCELLED"}


def body(code: Any = 6, *, waybill: Any = "AWB1", is_rvp: Any = False, **additional: Any) -> dict[str, Any]:
    return {
        "waybill": waybill,
        "cp_id": 4,
        "timestamp": "2024-05-01T10:00:00Z",
        "clickpost_status_code": code,
        "additional": {"is_rvp": is_rvp, **additional},
    }


def one(payload: Any) -> InboundEvent:
    return only_event(clickpost.parse, payload)


# --- fixtures ---------------------------------------------------------------------------------


def test_fixtures_are_found() -> None:
    assert len(FIXTURE_FILES) >= 4, f"no ClickPost fixtures under {WEBHOOK_FIXTURES}"


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_normalizes_to_its_expectation(path: Path) -> None:
    for event, _expect in parse_fixture(clickpost.parse, Source.CLICKPOST, path):
        assert event.leg_keys(), "every accepted event must be keyable to a leg"


# --- the mapping table ------------------------------------------------------------------------


def test_table_covers_exactly_the_documented_codes() -> None:
    assert set(clickpost.STATUS_CODES) == set(EXPECTED_FORWARD)


def test_a_few_rows_literally() -> None:
    assert clickpost.STATUS_CODES[4] == (T.PICKED_UP, T.RETURN_PICKED_UP)
    assert clickpost.STATUS_CODES[9] == (T.FAILED_DELIVERY, T.FAILED_DELIVERY)
    assert clickpost.STATUS_CODES[15] == (T.RTO_IN_TRANSIT, T.RTO_IN_TRANSIT)
    assert clickpost.STATUS_CODES[19] == (T.SHIPMENT_STUCK, T.SHIPMENT_STUCK)
    assert clickpost.EVENT_IDS == {16: T.PICKUP_CANCELLED}


@pytest.mark.parametrize("code", sorted(clickpost.STATUS_CODES))
def test_every_code_forward(code: int) -> None:
    event = one(body(code))
    assert event.notification_type == EXPECTED_FORWARD[code] == clickpost.STATUS_CODES[code][0]
    # 101 is a return whatever is_rvp says.
    expected_leg = ShipmentType.RETURN if code == 101 else ShipmentType.FORWARD
    assert event.shipment_type is expected_leg
    assert event.raw_code == str(code)


@pytest.mark.parametrize("code", sorted(clickpost.STATUS_CODES))
def test_every_code_reverse_pickup(code: int) -> None:
    event = one(body(code, is_rvp=True))
    expected = EXPECTED_RVP_OVERRIDES.get(code, EXPECTED_FORWARD[code])
    assert event.notification_type == expected == clickpost.STATUS_CODES[code][1]
    assert event.shipment_type is ShipmentType.RETURN


@pytest.mark.parametrize("code", [0, 22, 99, 102, -5])
def test_unknown_code_is_unknown_with_raw_kept(code: int) -> None:
    event = one({**body(code), "clickpost_status_description": "HubTransferPending"})
    assert event.notification_type is T.UNKNOWN
    assert event.raw_status == "HubTransferPending"
    assert event.raw_code == str(code)


def test_non_numeric_code_is_unknown_and_does_not_borrow_latest_status() -> None:
    payload = body("OFD", latest_status={"clickpost_status_code": 8})
    event = one(payload)
    assert event.notification_type is T.UNKNOWN
    assert event.raw_code == "OFD"


@pytest.mark.parametrize("is_rvp", [True, "true", "True", 1, "1"])
def test_is_rvp_truthy_spellings_make_a_return(is_rvp: Any) -> None:
    event = one(body(8, is_rvp=is_rvp))
    assert (event.notification_type, event.shipment_type) == (T.RETURN_DELIVERED, ShipmentType.RETURN)


@pytest.mark.parametrize("is_rvp", [False, "false", 0, "0", None, "NA"])
def test_is_rvp_falsy_spellings_stay_forward(is_rvp: Any) -> None:
    event = one(body(8, is_rvp=is_rvp))
    assert (event.notification_type, event.shipment_type) == (T.DELIVERED, ShipmentType.FORWARD)


@pytest.mark.parametrize("code", [10, 3, 2, 999])
@pytest.mark.parametrize("event_id", [16, "16"])
def test_notification_event_16_is_pickup_cancelled_whatever_the_code(code: int, event_id: Any) -> None:
    event = one(body(code, notification_event_id=event_id))
    assert event.notification_type is T.PICKUP_CANCELLED
    assert event.shipment_type is ShipmentType.FORWARD
    assert event.aggregator_meta["notification_event_id"] == 16


def test_pickup_cancelled_on_a_reverse_pickup_is_a_return_leg() -> None:
    event = one(body(10, is_rvp=True, notification_event_id=16))
    assert (event.notification_type, event.shipment_type) == (T.PICKUP_CANCELLED, ShipmentType.RETURN)


def test_other_event_ids_do_not_override_the_code() -> None:
    assert one(body(9, notification_event_id=4)).notification_type is T.FAILED_DELIVERY


# --- what ClickPost really sends --------------------------------------------------------------


def test_code_as_numeric_string() -> None:
    event = one(body("14"))
    assert (event.notification_type, event.raw_code) == (T.RTO_DELIVERED, "14")


def test_raw_status_is_the_description_else_the_code() -> None:
    assert one({**body(6), "clickpost_status_description": "OutForDelivery"}).raw_status == "OutForDelivery"
    assert one(body(6)).raw_status == "6"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2019-05-06T10:04:20Z", datetime(2019, 5, 6, 10, 4, 20, tzinfo=UTC)),
        ("2024-05-01T12:30:00+05:30", datetime(2024, 5, 1, 7, 0, tzinfo=UTC)),
        ("2019-04-29 07:47:07.161221", datetime(2019, 4, 29, 7, 47, 7, 161221, tzinfo=IST)),
        ("2016-07-12T17:12:36.710", datetime(2016, 7, 12, 17, 12, 36, 710000, tzinfo=IST)),
        ("2018-07-07 19:34:46", datetime(2018, 7, 7, 19, 34, 46, tzinfo=IST)),
        ("07/27/2017 5:01 p.m.", datetime(2017, 7, 27, 17, 1, tzinfo=IST)),
        # The docs call the timestamp "IST"; some senders print the word after it.
        ("2019-05-06 15:34:20 IST", datetime(2019, 5, 6, 10, 4, 20, tzinfo=UTC)),
    ],
)
def test_timestamp_formats(raw: str, expected: datetime) -> None:
    event = one({**body(6), "timestamp": raw})
    assert event.status_time == expected
    assert event.status_time_raw == raw


def test_naive_time_is_india_time() -> None:
    event = one({**body(6), "timestamp": "2024-05-01 12:30:00"})
    assert event.status_time is not None
    assert event.status_time.utcoffset() == timedelta(hours=5, minutes=30)
    assert event.status_time == datetime(2024, 5, 1, 7, 0, tzinfo=UTC)


def test_unparseable_time_keeps_raw_and_does_not_borrow_latest_status_time() -> None:
    payload = {**body(6, latest_status={"timestamp": "2024-05-01T10:00:00Z"}), "timestamp": "sometime soon"}
    event = one(payload)
    assert (event.status_time, event.status_time_raw) == (None, "sometime soon")
    assert event.notification_type is T.OUT_FOR_DELIVERY


def test_missing_time_falls_back_to_latest_status() -> None:
    payload = {**body(6, latest_status={"timestamp": "2024-05-02T10:00:00Z"}), "timestamp": "NA"}
    event = one(payload)
    assert event.status_time == datetime(2024, 5, 2, 10, 0, tzinfo=UTC)
    assert event.status_time_raw == "2024-05-02T10:00:00Z"


def test_no_time_anywhere() -> None:
    payload = body(6)
    del payload["timestamp"]
    assert (one(payload).status_time, one(payload).status_time_raw) == (None, None)


def test_late_out_for_delivery_is_the_event_not_the_newer_latest_status() -> None:
    # S15: the OFD arrives after delivery; latest_status already says 8 with a later time.
    payload = {
        "waybill": "12527345",
        "cp_id": 4,
        "timestamp": "2019-05-06T08:10:00Z",
        "clickpost_status_code": 6,
        "clickpost_status_description": "OutForDelivery",
        "additional": {
            "is_rvp": False,
            "latest_status": {
                "clickpost_status_code": 8,
                "clickpost_status_description": "Delivered",
                "timestamp": "2019-05-06T15:01:00Z",
            },
        },
    }
    event = one(payload)
    assert event.notification_type is T.OUT_FOR_DELIVERY
    assert event.raw_status == "OutForDelivery"
    assert event.status_time == datetime(2019, 5, 6, 8, 10, tzinfo=UTC)


def test_absent_top_level_code_falls_back_to_latest_status() -> None:
    payload = body(None, latest_status={"clickpost_status_code": "8", "timestamp": "2024-05-03T09:00:00Z"})
    del payload["timestamp"]
    event = one(payload)
    assert (event.notification_type, event.raw_code) == (T.DELIVERED, "8")
    assert event.status_time == datetime(2024, 5, 3, 9, 0, tzinfo=UTC)


def test_no_code_anywhere_is_unknown() -> None:
    event = one(body(None))
    assert (event.notification_type, event.raw_code, event.raw_status) == (T.UNKNOWN, None, None)


@pytest.mark.parametrize(("cp_id", "expected"), [(-1, None), ("-1", None), (9, "9"), ("1", "1"), ("NA", None)])
def test_cp_id_sentinels(cp_id: Any, expected: str | None) -> None:
    assert one({**body(6), "cp_id": cp_id}).aggregator_meta["cp_id"] == expected


@pytest.mark.parametrize(("waybill", "expected"), [(785578015860, "785578015860"), (2**62 + 1, str(2**62 + 1))])
def test_waybill_as_json_number_stays_an_exact_string(waybill: int, expected: str) -> None:
    event = one(body(6, waybill=waybill))
    assert event.awb == event.forward_awb == expected


# --- legs -------------------------------------------------------------------------------------


def test_forward_leg() -> None:
    event = one(body(5, order_id="ORD-1", latest_status={"reference_number": "REF-1"}))
    assert (event.awb, event.forward_awb, event.return_awb) == ("AWB1", "AWB1", None)
    assert event.forward_order_code == "ORD-1"
    assert event.leg_keys() == ("awb:AWB1",)
    assert event.aggregator_name == "CLICKPOST"


def test_forward_order_code_falls_back_to_reference_number() -> None:
    assert one(body(5, latest_status={"reference_number": "REF-1"})).forward_order_code == "REF-1"


def test_return_placed_with_empty_waybill_is_keyed_by_forward_awb() -> None:
    # S13: code 101, empty waybill, cp_id -1.
    payload = {
        "waybill": "",
        "cp_id": -1,
        "timestamp": "2019-04-29 07:47:07.161221",
        "clickpost_status_code": 101,
        "clickpost_status_description": "Return Order Placed",
        "additional": {
            "is_rvp": True,
            "notification_event_id": 11,
            "forward_awb": "5522110373319",
            "forward_reference_number": "1405277",
            "item_info": [{"sku": "120667", "quantity": 1}, {"sku": 9649, "quantity": "2"}],
        },
    }
    event = one(payload)
    assert (event.notification_type, event.shipment_type) == (T.RETURN_CREATED, ShipmentType.RETURN)
    assert (event.awb, event.return_awb, event.return_order_id) == (None, None, None)
    assert event.forward_awb == "5522110373319"
    assert event.forward_order_code == "1405277"
    assert event.leg_keys() == ("fwd:5522110373319",)
    assert event.items == (Item(sku="120667", quantity=1), Item(sku="9649", quantity=2))
    assert event.aggregator_meta["cp_id"] is None


def test_return_placed_without_is_rvp_is_still_a_return() -> None:
    event = one(body(101, waybill="", is_rvp=None, forward_awb="F1"))
    assert (event.shipment_type, event.forward_awb) == (ShipmentType.RETURN, "F1")


def test_return_placed_that_already_has_a_waybill_is_keyed_by_it() -> None:
    event = one(body(101, waybill="R1", is_rvp=True, forward_awb="F1"))
    assert (event.awb, event.return_awb, event.forward_awb) == ("R1", "R1", "F1")
    assert event.leg_keys() == ("awb:R1", "fwd:F1")


def test_reverse_pickup_with_doorstep_qc() -> None:
    # S14: reverse pickup, milliseconds without zone, dsqc block.
    dsqc = {"awb": "35560229", "qc_result": True, "qc_details": {"qc_status": "pass"}}
    payload = {
        "waybill": "35560229",
        "cp_id": 7,
        "timestamp": "2016-07-12T17:12:36.710",
        "clickpost_status_code": 4,
        "clickpost_status_description": "PickedUp",
        "additional": {"is_rvp": True, "forward_awb": "F-9", "forward_reference_number": "ORD-9", "dsqc": dsqc},
    }
    event = one(payload)
    assert (event.notification_type, event.shipment_type) == (T.RETURN_PICKED_UP, ShipmentType.RETURN)
    assert (event.awb, event.return_awb, event.forward_awb) == ("35560229", "35560229", "F-9")
    assert event.forward_order_code == "ORD-9"
    assert event.return_order_id is None  # ClickPost's webhook names no return id: never invent one
    assert event.aggregator_meta["dsqc"] == dsqc
    assert event.status_time == datetime(2016, 7, 12, 17, 12, 36, 710000, tzinfo=IST)


def test_meta_carries_ndr_and_edd() -> None:
    event = one(
        body(9, ndr_status_code=0, ndr_status_description="Unknown exception", courier_partner_edd="2025-01-20")
    )
    assert event.aggregator_meta["ndr_status_code"] == "0"
    assert event.aggregator_meta["ndr_status_description"] == "Unknown exception"
    assert event.aggregator_meta["courier_partner_edd"] == "2025-01-20"
    assert "dsqc" not in event.aggregator_meta


def test_courier_name_only_when_sent() -> None:
    assert one(body(6)).courier_name is None
    assert one(body(6, courier_partner_name="Delhivery")).courier_name == "Delhivery"


def test_raw_is_the_body() -> None:
    payload = body(6)
    assert one(payload).raw is payload


# --- unidentifiable ---------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [[], [body(6)], "waybill", 6, None, True])
def test_not_an_object_is_unidentifiable(payload: Any) -> None:
    with pytest.raises(Unidentifiable):
        clickpost.parse(payload)


@pytest.mark.parametrize("waybill", ["", "NA", None, "  ", -1])
def test_forward_without_waybill_is_unidentifiable(waybill: Any) -> None:
    with pytest.raises(Unidentifiable, match="waybill"):
        clickpost.parse(body(6, waybill=waybill))


def test_reverse_pickup_without_waybill_is_unidentifiable_even_with_forward_awb() -> None:
    # SPEC §6: only code 101 may be keyed by the forward AWB.
    with pytest.raises(Unidentifiable):
        clickpost.parse(body(4, waybill="", is_rvp=True, forward_awb="F1"))


def test_return_placed_without_forward_awb_is_unidentifiable() -> None:
    with pytest.raises(Unidentifiable, match="forward_awb"):
        clickpost.parse(body(101, waybill="", is_rvp=True, forward_awb="NA"))


def test_dashboard_test_webhook_is_unidentifiable() -> None:
    payload = {"test_url": "http://example.invalid/", "test_data": body(9)}
    with pytest.raises(Unidentifiable):
        clickpost.parse(payload)


# --- robustness -------------------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)  # orjson's integer range
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["", "NA", "-1", "101", "16", "true", "2019-04-29 07:47:07.161221", "07/27/2017 5:01 p.m."])
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)


_json = st.recursive(_scalars, _containers)
_code = st.sampled_from([*clickpost.STATUS_CODES, "14", "x"]) | _json
_latest = st.fixed_dictionaries(
    {}, optional={"clickpost_status_code": _code, "timestamp": _json, "reference_number": _json}
)
_additional = st.fixed_dictionaries(
    {},
    optional={
        "is_rvp": _json,
        "notification_event_id": st.sampled_from([16, "16", 11]) | _json,
        "forward_awb": st.sampled_from(["F1", 5522110373319]) | _json,
        "forward_reference_number": _json,
        "order_id": _json,
        "item_info": st.lists(st.fixed_dictionaries({}, optional={"sku": _json, "quantity": _json}) | _json, max_size=3)
        | _json,
        "latest_status": _latest | _json,
        "dsqc": _json,
        "ndr_status_code": _json,
    },
)
_bodies = st.fixed_dictionaries(
    {},
    optional={
        "waybill": st.sampled_from(["AWB1", 785578015860, ""]) | _json,
        "clickpost_status_code": _code,
        "clickpost_status_description": _json,
        "timestamp": _json,
        "cp_id": _json,
        "additional": _additional | _json,
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_json, _bodies))
def test_parse_only_returns_events_or_raises_unidentifiable(payload: Any) -> None:
    try:
        result = clickpost.parse(payload)
    except Unidentifiable:
        return
    (event,) = result.events
    assert event.source is Source.CLICKPOST
    assert event.leg_keys()
    assert event.status_time is None or event.status_time.tzinfo is not None


@pytest.mark.parametrize(
    ("description", "expected", "leg"),
    [
        ("Delivered", T.DELIVERED, ShipmentType.FORWARD),
        ("OutForDelivery", T.OUT_FOR_DELIVERY, ShipmentType.FORWARD),
        ("OUT_FOR_DELIVERY", T.OUT_FOR_DELIVERY, ShipmentType.FORWARD),
        ("RTO Delivered", T.RTO_DELIVERED, ShipmentType.FORWARD),
        ("Return Order Placed", T.RETURN_CREATED, ShipmentType.RETURN),
    ],
)
def test_a_body_without_any_code_is_read_by_its_status_name(
    description: str, expected: NotificationType, leg: ShipmentType
) -> None:
    payload: dict[str, Any] = {"waybill": "W-77", "clickpost_status_description": description}
    if expected is T.RETURN_CREATED:
        payload.update(waybill="", additional={"forward_awb": "F-77"})
    event = one(payload)
    assert (event.notification_type, event.shipment_type, event.raw_code) == (expected, leg, description)


def test_a_code_wins_over_a_disagreeing_name_and_an_unknown_name_stays_unknown() -> None:
    assert one(body(8) | {"clickpost_status_description": "OutForDelivery"}).notification_type is T.DELIVERED
    event = one({"waybill": "W-78", "clickpost_status_description": "Somewhere"})
    assert (event.notification_type, event.raw_code, event.raw_status) == (T.UNKNOWN, None, "Somewhere")


def test_every_status_name_is_a_table_code() -> None:
    assert set(clickpost.STATUS_NAMES.values()) <= set(clickpost.STATUS_CODES)
