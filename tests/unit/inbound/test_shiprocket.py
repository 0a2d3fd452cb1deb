"""Shiprocket webhook parsing: fixtures, every code and label row, and what Shiprocket really sends (S1–S6)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inbound_checks import WEBHOOK_FIXTURES, fixture_files, only_event, parse_fixture

from gateway.inbound import shiprocket
from gateway.inbound.base import ParseResult, Unidentifiable
from gateway.inbound.shiprocket_codes import RETURN_LABELS, RETURN_LEG_CODES, SHIPMENT_STATUS, STATUS_LABELS
from gateway.models import InboundEvent, NotificationType, ShipmentType, Source
from gateway.values import IST, label_words

FIXTURE_FILES = fixture_files(Source.SHIPROCKET)

T = NotificationType
F = ShipmentType.FORWARD
R = ShipmentType.RETURN

#: domain.md §6.1's forward column in SPEC §6 names, written out independently of the module.
EXPECTED_FORWARD: dict[str, set[int]] = {
    "AWB_GENERATED": {1, 2, 5, 52},
    "PICKUP_SCHEDULED": {3, 4, 15, 27},
    "UNKNOWN": {11, *range(59, 69)},
    "OUT_FOR_PICKUP": {19},
    "PICKUP_FAILED": {13, 20, 71, 47},
    "PICKED_UP": {42},
    "IN_TRANSIT": {6, 18, 22, 38, 39, 48, 49, 50, 51, 53, 54, 55, 56, 57},
    "OUT_FOR_DELIVERY": {17},
    "FAILED_DELIVERY": {21, 77},
    "DELIVERED": {7, 23, 26, 43},
    "RTO": {9, 75},
    "RTO_IN_TRANSIT": {46, 78, 40},
    "RTO_OUT_FOR_DELIVERY": {41},
    "RTO_DELIVERED": {10, 14},
    "CANCELLED": {8, 45},
    "SHIPMENT_STUCK": {16, 72, 76},
    "LOST": {12, 24, 44},
    "DAMAGED": {25},
}
#: Where ``is_return`` has its own name; every other code keeps the forward name.
EXPECTED_RETURN_OVERRIDES: dict[int, str] = {
    **dict.fromkeys((7, 23, 26, 43), "RETURN_DELIVERED"),
    **dict.fromkeys((8, 45), "RETURN_CANCELLED"),
    42: "RETURN_PICKED_UP",
}

#: domain.md S1: the order-status family's 20 next to the shipment-status family's 18.
S1: dict[str, Any] = {
    "awb": "19041424751540", "courier_name": "Delhivery Surface", "current_status": "IN TRANSIT",
    "current_status_id": 20, "shipment_status": "IN TRANSIT", "shipment_status_id": 18,
    "current_timestamp": "23 05 2023 11:43:52", "order_id": "1373900_150876814", "sr_order_id": 348456385,
    "scans": [
        {"date": "2023-05-19 11:59:16", "status": "X-UCI", "sr-status": "5", "sr-status-label": "MANIFEST GENERATED"},
        {"date": "2023-05-19 15:12:40", "status": "X-PPOM", "sr-status": "42", "sr-status-label": "PICKED UP"},
    ],
    "is_return": 0, "channel_id": 3422553, "pod_status": "OTP Based Delivery",
}  # fmt: skip
#: domain.md S5 without its ids: newest-first scans, the newest one a RTO OFD.
S5_SCANS: list[dict[str, Any]] = [
    {"date": "2024-07-05 09:20:00", "status": "RTO-OFD", "sr-status": "41", "sr-status-label": "RTO_OFD"},
    {"date": "2024-07-01 17:45:00", "status": "RT-IT", "sr-status": "46", "sr-status-label": "RTO IN INTRANSIT"},
    {"date": "2024-06-28 12:00:00", "status": "UD", "sr-status": "21", "sr-status-label": "UNDELIVERED"},
]


def body(**fields: Any) -> dict[str, Any]:
    return {"awb": "AWB1", "order_id": "ORD-1", "current_timestamp": "10 08 2024 07:00:00", **fields}


def one(payload: Any) -> InboundEvent:
    return only_event(shiprocket.parse, payload)


# --- fixtures ---------------------------------------------------------------------------------


def test_fixtures_are_found() -> None:
    assert len(FIXTURE_FILES) >= 3, f"no Shiprocket fixtures under {WEBHOOK_FIXTURES}"


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_normalizes_to_its_expectation(path: Path) -> None:
    for event, expect in parse_fixture(shiprocket.parse, Source.SHIPROCKET, path):
        assert event.awb == expect["awb"]
        assert event.leg_keys()[0] == f"awb:{expect['awb']}", "the leg is keyed by its own AWB first"


# --- the tables -------------------------------------------------------------------------------


def test_code_table_matches_domain_mapping() -> None:
    forward = {code: pair[0].value for code, pair in SHIPMENT_STATUS.items()}
    expected = {code: name for name, codes in EXPECTED_FORWARD.items() for code in codes}
    assert forward == expected
    on_return = {code: pair[1].value for code, pair in SHIPMENT_STATUS.items()}
    assert on_return == {**expected, **EXPECTED_RETURN_OVERRIDES}
    assert RETURN_LEG_CODES == {47}


def test_known_rows_literally() -> None:
    assert SHIPMENT_STATUS[18] == (T.IN_TRANSIT, T.IN_TRANSIT)
    assert SHIPMENT_STATUS[20] == (T.PICKUP_FAILED, T.PICKUP_FAILED)
    assert SHIPMENT_STATUS[42] == (T.PICKED_UP, T.RETURN_PICKED_UP)
    assert SHIPMENT_STATUS[7] == (T.DELIVERED, T.RETURN_DELIVERED)
    assert SHIPMENT_STATUS[14] == (T.RTO_DELIVERED, T.RTO_DELIVERED)
    assert SHIPMENT_STATUS[40] == (T.RTO_IN_TRANSIT, T.RTO_IN_TRANSIT)
    assert STATUS_LABELS["RTO_OFD"] == 41
    assert RETURN_LABELS["RETURN PICKUP ERROR"] is T.PICKUP_FAILED


@pytest.mark.parametrize(("code", "pair"), sorted(SHIPMENT_STATUS.items()))
@pytest.mark.parametrize("via", ["shipment_status_id", "sr-status"])
def test_every_code_row(code: int, pair: tuple[NotificationType, NotificationType], via: str) -> None:
    def fields(is_return: Any) -> dict[str, Any]:
        if via == "shipment_status_id":
            return {"shipment_status_id": code, "is_return": is_return}
        return {"scans": [{"date": "2024-08-10 07:00:00", "sr-status": str(code)}], "is_return": is_return}

    forward = one(body(**fields(0)))
    assert (forward.notification_type, forward.raw_code) == (pair[0], str(code))
    assert forward.shipment_type is (R if code in RETURN_LEG_CODES else F)
    returned = one(body(**fields(1)))
    assert (returned.notification_type, returned.shipment_type) == (pair[1], R)


@pytest.mark.parametrize(("label", "code"), sorted(STATUS_LABELS.items()))
def test_every_status_label_row(label: str, code: int) -> None:
    assert label == label.strip().upper() and code in SHIPMENT_STATUS
    event = one(body(shipment_status=f"  {label.lower()} "))
    assert event.notification_type is SHIPMENT_STATUS[code][0]
    assert event.raw_code == label.lower()
    assert one(body(current_status=label, is_return=1)).notification_type is SHIPMENT_STATUS[code][1]


@pytest.mark.parametrize(("label", "expected"), sorted(RETURN_LABELS.items()))
def test_every_return_label_row_makes_a_return_leg(label: str, expected: NotificationType) -> None:
    event = one(body(current_status=label, is_return=0))
    assert (event.notification_type, event.shipment_type, event.raw_code) == (expected, R, label)


# --- what Shiprocket really sends -------------------------------------------------------------


def test_s1_normalizes_on_shipment_status_id_never_current_status_id() -> None:
    event = one(S1)
    assert (event.notification_type, event.shipment_type, event.raw_code) == (T.IN_TRANSIT, F, "18")
    assert event.raw_status == "IN TRANSIT"
    assert event.status_time == datetime(2023, 5, 23, 11, 43, 52, tzinfo=IST)
    assert event.status_time_raw == "23 05 2023 11:43:52"
    assert (event.forward_awb, event.forward_order_code, event.return_awb) == (S1["awb"], S1["order_id"], None)
    assert event.courier_name == "Delhivery Surface" and event.aggregator_name == "SHIPROCKET"
    assert event.aggregator_meta["sr_order_id"] == "348456385" and event.raw is S1
    # With nothing else to go on, current_status_id (20 = Pickup Exception here) is still ignored.
    assert one(body(current_status_id=20)).notification_type is T.UNKNOWN


@pytest.mark.parametrize("scans", [S5_SCANS, S5_SCANS[::-1]], ids=["newest-first", "oldest-first"])
def test_newest_scan_is_found_by_its_date(scans: list[dict[str, Any]]) -> None:
    event = one({"awb": "141123221084922", "current_status": "RTO OFD ??", "scans": scans})
    assert (event.notification_type, event.raw_code) == (T.RTO_OUT_FOR_DELIVERY, "41")
    assert event.status_time_raw == "2024-07-05 09:20:00"
    assert event.status_time == datetime(2024, 7, 5, 9, 20, tzinfo=IST)


def test_s6_na_scan_and_unknown_code_are_unknown_with_raw_kept() -> None:
    scans = [{"location": "Mumbai", "date": "2024-08-10 07:00:00", "sr-status": "NA", "sr-status-label": "NA"}]
    event = one(body(shipment_status_id=99, shipment_status="HUB TRANSFER PENDING", scans=scans))
    assert (event.notification_type, event.shipment_type) == (T.UNKNOWN, F)
    assert event.raw_status == event.raw_code == "HUB TRANSFER PENDING"


def test_unknown_code_falls_through_to_scan_then_label() -> None:
    scan = [{"date": "2024-08-10 07:00:00", "sr-status": "18"}]
    assert one(body(shipment_status_id=99, scans=scan)).raw_code == "18"
    na_scan = [{"date": "2024-08-10", "sr-status": "NA"}]
    by_label = one(body(shipment_status_id="99", scans=na_scan, current_status="Delivered"))
    assert (by_label.notification_type, by_label.raw_code) == (T.DELIVERED, "Delivered")
    assert one(body(current_status="Pickup Exception")).raw_status == "Pickup Exception"


def test_newest_scan_with_na_does_not_fall_back_to_an_older_scan() -> None:
    scans = [{"date": "2024-08-09 07:00:00", "sr-status": "7"}, {"date": "2024-08-10 07:00:00", "sr-status": "NA"}]
    assert one(body(scans=scans)).notification_type is T.UNKNOWN


@pytest.mark.parametrize("text", ["IN TRANSIT TO HUB", "NOT DELIVERED", "RETURN", "PICKED UP BY COURIER"])
def test_label_fallback_is_exact_never_a_substring(text: str) -> None:
    assert one(body(shipment_status=text)).notification_type is T.UNKNOWN


def test_undelivered_is_not_delivered() -> None:
    assert one(body(current_status="UNDELIVERED")).notification_type is T.FAILED_DELIVERY


def test_s2_numbers_as_strings_and_awb_as_number() -> None:
    s2 = {
        "awb": 19041424751540, "courier_name": "Delhivery Surface", "current_status": "DELIVERED",
        "current_status_id": "7", "shipment_status": "DELIVERED", "shipment_status_id": "7",
        "current_timestamp": "24 05 2023 18:02:10", "order_id": "1373900_150876814", "sr_order_id": "348456385",
        "etd": "2023-05-23 15:40:19", "is_return": "0",
    }  # fmt: skip
    event = one(s2)
    assert (event.notification_type, event.shipment_type, event.raw_code) == (T.DELIVERED, F, "7")
    assert event.awb == event.forward_awb == "19041424751540"
    assert event.aggregator_meta == {"sr_order_id": "348456385", "etd": "2023-05-23 15:40:19"}


def test_json_number_awb_stays_exact() -> None:
    event = one(json.loads('{"awb": 1333110020164, "shipment_status_id": 18}'))
    assert event.awb == "1333110020164"


def test_day_first_timestamp() -> None:
    event = one(body(current_timestamp="03 05 2024 16:40:00", shipment_status_id=18))
    assert event.status_time == datetime(2024, 5, 3, 16, 40, tzinfo=IST)


def test_unparseable_time_keeps_raw_and_does_not_borrow_a_scan_date() -> None:
    scans = [{"date": "2024-08-10 07:00:00", "sr-status": "18"}]
    event = one(body(current_timestamp="31 02 2024 25:61:00", scans=scans))
    assert (event.status_time, event.status_time_raw) == (None, "31 02 2024 25:61:00")
    no_time = one({"awb": "A", "shipment_status_id": 18})
    assert (no_time.status_time, no_time.status_time_raw) == (None, None)


@pytest.mark.parametrize("is_return", [1, "1", True, " true "])
def test_s4_return_leg(is_return: Any) -> None:
    event = one(body(awb="77110934512", order_id="R-100234", shipment_status_id=42, is_return=is_return))
    assert (event.notification_type, event.shipment_type) == (T.RETURN_PICKED_UP, R)
    assert (event.awb, event.return_awb, event.return_order_id) == ("77110934512", "77110934512", "R-100234")
    assert (event.forward_awb, event.forward_order_code) == (None, None)
    assert event.leg_keys() == ("awb:77110934512", "rid:R-100234")


def test_qc_failed_is_a_return_pickup_failure_without_is_return() -> None:
    event = one(body(shipment_status_id=47, is_return=0))
    assert (event.notification_type, event.shipment_type, event.return_awb) == (T.PICKUP_FAILED, R, "AWB1")


# --- pings and rejections ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"channel_order_id": "Enter your channel order id", "awb": "", "current_status": "DELIVERED"},
        {"channel": "  ENTER YOUR CHANNEL NAME"},
        {"channel_order_id": 5, "channel": "enter your channel"},
    ],
)
def test_test_ping(payload: dict[str, Any]) -> None:
    assert shiprocket.parse(payload) == ParseResult.test_ping()


def test_placeholder_elsewhere_is_not_a_ping() -> None:
    assert not shiprocket.parse(body(channel="My channel: enter your id", shipment_status_id=7)).ping
    with pytest.raises(Unidentifiable):
        shiprocket.parse({"channel_order_id": "Please enter your id"})


@pytest.mark.parametrize("payload", [[], "text", None, 7, [{"awb": "A"}]])
def test_non_object_is_unidentifiable(payload: Any) -> None:
    with pytest.raises(Unidentifiable, match="JSON object"):
        shiprocket.parse(payload)


@pytest.mark.parametrize("awb", [None, "", "  ", "NA", "na", True, {"x": 1}, [1]])
def test_missing_awb_is_unidentifiable(awb: Any) -> None:
    with pytest.raises(Unidentifiable, match="awb"):
        shiprocket.parse(body(awb=awb, shipment_status_id=7))
    with pytest.raises(Unidentifiable):
        shiprocket.parse({"shipment_status_id": 7})


# --- anything JSON ----------------------------------------------------------------------------

FIELDS = [
    "awb", "shipment_status_id", "current_status_id", "shipment_status", "current_status", "is_return",
    "current_timestamp", "scans", "date", "sr-status", "order_id", "channel", "channel_order_id", "sr_order_id",
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["NA", "", "18", "42", "99", "IN TRANSIT", "enter your id", "23 05 2023 11:43:52"])
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), inner),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSONISH | st.fixed_dictionaries({}, optional=dict.fromkeys(FIELDS, JSONISH)))
def test_parse_only_returns_a_result_or_raises_unidentifiable(payload: Any) -> None:
    try:
        result = shiprocket.parse(payload)
    except Unidentifiable:
        return
    assert isinstance(result, ParseResult)
    assert all(event.awb for event in result.events)


def test_awb_code_is_read_when_awb_is_absent() -> None:
    body = {"awb_code": 123456789012, "shipment_status_id": 18, "current_timestamp": "14 03 2025 09:12:40"}
    [event] = shiprocket.parse(body).events
    assert event.awb == "123456789012" and event.notification_type is NotificationType.IN_TRANSIT


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("RTO_DELIVERED", (NotificationType.RTO_DELIVERED, ShipmentType.FORWARD)),
        ("OUT_FOR_DELIVERY", (NotificationType.OUT_FOR_DELIVERY, ShipmentType.FORWARD)),
        ("out-for-delivery", (NotificationType.OUT_FOR_DELIVERY, ShipmentType.FORWARD)),
        ("rto  ofd", (NotificationType.RTO_OUT_FOR_DELIVERY, ShipmentType.FORWARD)),
        ("Return_Picked_Up", (NotificationType.RETURN_PICKED_UP, ShipmentType.RETURN)),
    ],
)
def test_labels_with_underscores_dashes_or_extra_spaces_are_read(
    label: str, expected: tuple[NotificationType, ShipmentType]
) -> None:
    event = shiprocket.parse({"awb": "SR-SEP", "current_status": label}).events[0]
    assert (event.notification_type, event.shipment_type, event.raw_code) == (*expected, label)


def test_normalized_labels_never_collide() -> None:
    for table in (STATUS_LABELS, RETURN_LABELS):
        by_key: dict[str, set[object]] = {}
        for label, value in table.items():
            by_key.setdefault(label_words(label), set()).add(value)
        assert all(len(values) == 1 for values in by_key.values())


# --- labels and shapes seen in Shiprocket's panel and in integrations built on it -------------


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("IN TRANSIT-EN-ROUTE", T.IN_TRANSIT),
        ("In Transit-EN-ROUTE", T.IN_TRANSIT),
        ("IN TRANSIT-AT DESTINATION HUB", T.IN_TRANSIT),
        ("REACHED DESTINATION HUB", T.IN_TRANSIT),
        ("UNDELIVERED-1st Attempt", T.FAILED_DELIVERY),
        ("UNDELIVERED-2nd Attempt", T.FAILED_DELIVERY),
        ("UNDELIVERED-3RD ATTEMPT", T.FAILED_DELIVERY),
        ("SELF FULFILED", T.DELIVERED),
        ("READY TO SHIP", T.AWB_GENERATED),
        # Order-status names (domain.md §1.4) that differ from the shipment-status labels.
        ("PICKUP QUEUE", T.PICKUP_SCHEDULED),
        ("DELIVERY DELAYED", T.IN_TRANSIT),
    ],
)
def test_current_status_texts_shiprocket_really_sends_are_read(label: str, expected: NotificationType) -> None:
    event = one({"awb": "SR-TXT", "current_status": label, "current_timestamp": "14 03 2025 09:12:40"})
    assert (event.notification_type, event.shipment_type, event.raw_code) == (expected, F, label)


def test_a_flattened_scan_at_the_top_level_is_read_by_its_sr_status_then_its_label() -> None:
    by_code = one({"awb": "SR-FLAT", "sr-status": "18", "sr-status-label": "IN TRANSIT"})
    assert (by_code.notification_type, by_code.raw_code) == (T.IN_TRANSIT, "18")
    by_label = one({"awb": "SR-FLAT", "sr-status": "NA", "sr-status-label": "Delivered"})
    assert (by_label.notification_type, by_label.raw_code) == (T.DELIVERED, "Delivered")
    assert by_label.raw_status == "Delivered", "the only status text there is"
    # The documented fields still come first.
    ranked = one({"awb": "SR-FLAT", "shipment_status_id": 7, "sr-status": "18", "shipment_status": "DELIVERED"})
    assert (ranked.notification_type, ranked.raw_code, ranked.raw_status) == (T.DELIVERED, "7", "DELIVERED")


def test_a_return_cancellation_request_is_held_on_the_return_leg() -> None:
    event = one({"awb": "SR-RCR", "current_status": "RETURN CANCELLATION REQUESTED"})
    assert (event.notification_type, event.shipment_type) == (T.SHIPMENT_STUCK, R)
