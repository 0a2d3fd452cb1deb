"""Shipway webhook parsing: both shapes, fixtures, every status-code row, and what Shipway really sends (S7–S10)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inbound_checks import WEBHOOK_FIXTURES, fixture_files, only_event, parse_fixture

from gateway.inbound import shipway
from gateway.inbound.base import ParseResult, Unidentifiable
from gateway.models import InboundEvent, NotificationType, ShipmentType, Source
from gateway.values import IST

FIXTURE_FILES = fixture_files(Source.SHIPWAY)

T = NotificationType
F = ShipmentType.FORWARD
R = ShipmentType.RETURN

#: domain.md §2.4/§6.2 in SPEC §6 names, written out independently of the module.
EXPECTED_FORWARD: dict[str, set[str]] = {
    "AWB_GENERATED": {"SCH"},
    "OUT_FOR_PICKUP": {"OFP"},
    "PICKUP_FAILED": {"PKF"},
    "PICKUP_CANCELLED": {"PCAN"},
    "PICKED_UP": {"PKP"},
    "IN_TRANSIT": {"INT", "NWI", "SMD", "DNB"},
    "OUT_FOR_DELIVERY": {"OOD"},
    "DELIVERED": {"DEL"},
    "FAILED_DELIVERY": {"UND", "CRTA", "CNA", "DEX", "DRE", "PNR", "FDR", "NFI", "ODA", "OTH", "22", "23", "24", "25"},
    "RTO": {"RTO"},
    "RTO_DELIVERED": {"RTD"},
    "CANCELLED": {"CAN"},
    "SHIPMENT_STUCK": {"ONH"},
    "LOST": {"LOST"},
}
EXPECTED_RETURN: dict[str, set[str]] = {
    "PICKUP_SCHEDULED": {"RSCH", "RPSH", "RSMD"},
    "OUT_FOR_PICKUP": {"ROOP"},
    "PICKUP_FAILED": {"RPEX"},
    "RETURN_PICKED_UP": {"RPKP"},
    "IN_TRANSIT": {"RINT"},
    "OUT_FOR_DELIVERY": {"ROOD"},
    "FAILED_DELIVERY": {"RUND"},
    "RETURN_DELIVERED": {"RDEL"},
    "RETURN_CANCELLED": {"RCAN", "RCLO"},
}

#: domain.md S7.
S7: dict[str, Any] = {
    "hash": "3f7a0c1e9b2d4e6f8a1b2c3d4e5f6a7b",
    "status_feed": [
        {"order_id": "SHOP-7001", "awbno": "1333110020164", "current_status": "DEL",
         "status_time": "2024-05-01 12:30:00", "carrier": "Delhivery", "carrier_id": 3411,
         "tracking_url": "https://example.invalid/t/1333110020164",
         "scans": [{"time": "2024-05-01 12:30:00", "status": "Delivered", "location": "Jaipur"},
                   {"time": "2024-05-01 08:02:11", "status": "Out for delivery", "location": "Jaipur"}]},
        {"order_id": "SHOP-7002", "awbno": "1333110020165", "current_status": "RTO",
         "status_time": "2024-05-01 13:05:00", "carrier": "Delhivery", "carrier_id": 3411},
    ],
}  # fmt: skip


def feed(*entries: Any) -> dict[str, Any]:
    return {"hash": "h", "status_feed": list(entries)}


def one(payload: Any) -> InboundEvent:
    return only_event(shipway.parse, payload)


# --- fixtures ---------------------------------------------------------------------------------


def test_fixtures_are_found() -> None:
    assert len(FIXTURE_FILES) >= 2, f"no Shipway fixtures under {WEBHOOK_FIXTURES}"


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_normalizes_to_its_expectation(path: Path) -> None:
    for event, expect in parse_fixture(shipway.parse, Source.SHIPWAY, path):
        assert event.awb == expect["awb"]
        assert event.leg_keys()[0] == f"awb:{expect['awb']}", "the leg is keyed by its own AWB first"


# --- the table --------------------------------------------------------------------------------


def test_table_matches_domain_mapping() -> None:
    expected = {code: (name, F) for name, codes in EXPECTED_FORWARD.items() for code in codes}
    expected |= {code: (name, R) for name, codes in EXPECTED_RETURN.items() for code in codes}
    assert {code: (t.value, leg) for code, (t, leg) in shipway.STATUS_CODES.items()} == expected
    assert len(shipway.STATUS_CODES) == 30 + 12, "domain.md §2.4 lists 30 forward and 12 return codes"


def test_known_rows_literally() -> None:
    assert shipway.STATUS_CODES["DEL"] == (T.DELIVERED, F)
    assert shipway.STATUS_CODES["PCAN"] == (T.PICKUP_CANCELLED, F)
    assert shipway.STATUS_CODES["ONH"] == (T.SHIPMENT_STUCK, F)
    assert shipway.STATUS_CODES["25"] == (T.FAILED_DELIVERY, F)
    assert shipway.STATUS_CODES["RPKP"] == (T.RETURN_PICKED_UP, R)
    assert shipway.STATUS_CODES["RPEX"] == (T.PICKUP_FAILED, R)


@pytest.mark.parametrize(("code", "row"), sorted(shipway.STATUS_CODES.items()))
def test_every_code_row(code: str, row: tuple[NotificationType, ShipmentType]) -> None:
    event = one(feed({"order_id": "O-1", "awbno": "AWB1", "current_status": code}))
    assert (event.notification_type, event.shipment_type) == row
    assert event.raw_code == event.raw_status == code
    if row[1] is R:
        assert (event.return_awb, event.return_order_id, event.forward_awb) == ("AWB1", "O-1", None)
    else:
        assert (event.forward_awb, event.forward_order_code, event.return_awb) == ("AWB1", "O-1", None)


# --- what Shipway really sends ----------------------------------------------------------------


def test_s7_batch_gives_one_event_per_entry() -> None:
    delivered, rto = shipway.parse(S7).events
    assert (delivered.notification_type, delivered.awb, rto.notification_type, rto.awb) == (
        T.DELIVERED, "1333110020164", T.RTO, "1333110020165",
    )  # fmt: skip
    assert delivered.status_time == datetime(2024, 5, 1, 12, 30, tzinfo=IST)
    assert delivered.courier_name == "Delhivery" and delivered.aggregator_name == "SHIPWAY"
    assert delivered.aggregator_meta == {
        "carrier_id": "3411",
        "tracking_url": "https://example.invalid/t/1333110020164",
    }
    assert delivered.raw is S7["status_feed"][0] and delivered.forward_order_code == "SHOP-7001"


def test_s8_day_first_time_is_third_of_may() -> None:
    entry = {"order_id": "RET-SHOP-7001", "awbno": "R90001234", "current_status": "RPKP",
             "status_time": "03-05-2024 16:40", "carrier": "Ekart Reverse", "carrier_id": "3522"}  # fmt: skip
    event = one(feed(entry))
    assert (event.notification_type, event.shipment_type) == (T.RETURN_PICKED_UP, R)
    assert event.status_time == datetime(2024, 5, 3, 16, 40, tzinfo=IST)
    assert event.status_time_raw == "03-05-2024 16:40"
    assert event.aggregator_meta["carrier_id"] == "3522"


@pytest.mark.parametrize("code", ["25", 25])
def test_s9_numeric_ndr_code_and_missing_optional_fields(code: Any) -> None:
    event = one(feed({"order_id": "SHOP-7010", "awbno": "1333110020170", "current_status": code}))
    assert (event.notification_type, event.raw_code) == (T.FAILED_DELIVERY, "25")
    assert (event.status_time, event.status_time_raw, event.courier_name) == (None, None, None)


@pytest.mark.parametrize("code", ["XHLD", " ", None])
def test_s10_unknown_code_is_unknown_forward(code: Any) -> None:
    event = one(feed({"awbno": "1333110020171", "current_status": code, "status_time": "2024-05-02 09:00:00"}))
    assert (event.notification_type, event.shipment_type) == (T.UNKNOWN, F)
    assert event.raw_status == (code.strip() or None if isinstance(code, str) else None)


@pytest.mark.parametrize(
    ("status", "row"),
    [
        ("del", (T.DELIVERED, F)),
        ("Rpkp", (T.RETURN_PICKED_UP, R)),
        ("Delivered", (T.DELIVERED, F)),
        ("IN-TRANSIT", (T.IN_TRANSIT, F)),
        ("RTO Delivered", (T.RTO_DELIVERED, F)),
        ("Out for Delivery", (T.OUT_FOR_DELIVERY, F)),
        ("Attempted, premises closed", (T.FAILED_DELIVERY, F)),
        ("Return Picked Up", (T.RETURN_PICKED_UP, R)),
    ],
)
def test_codes_in_another_case_and_shipways_own_descriptions_are_read(
    status: str, row: tuple[NotificationType, ShipmentType]
) -> None:
    event = one(feed({"awbno": "1333110020172", "current_status": status}))
    assert (event.notification_type, event.shipment_type) == row
    assert event.raw_status == event.raw_code == status


def test_a_description_field_stands_in_for_a_missing_or_unknown_code() -> None:
    event = one(feed({"awbno": "A2", "current_status": "XHLD", "current_status_desc": "Out For Delivery"}))
    read = (event.notification_type, event.raw_status, event.raw_code)
    assert read == (T.OUT_FOR_DELIVERY, "XHLD", "Out For Delivery")
    event = one({"awbno": "A3", "order_id": "O3", "api_input": {"current_status_desc": "Delivered"}})
    assert (event.notification_type, event.raw_status) == (T.DELIVERED, "Delivered")


def test_tracking_api_shapes_name_the_code_in_other_fields() -> None:
    # The classic track answer: current_status is the words, current_status_code the code.
    event = one(feed({"awbno": "A4", "current_status": "Shipment Held", "current_status_code": "ONH"}))
    assert (event.notification_type, event.raw_status, event.raw_code) == (T.SHIPMENT_STUCK, "Shipment Held", "ONH")
    assert one(feed({"awbno": "A5", "shipment_status": "rtd"})).notification_type is T.RTO_DELIVERED


def test_every_description_names_a_code_and_every_code_has_one() -> None:
    assert set(shipway.STATUS_LABELS.values()) == set(shipway.STATUS_CODES)
    assert all(label == " ".join(label.split()) and label == label.lower() for label in shipway.STATUS_LABELS)


@pytest.mark.parametrize("key", ["awb", "awb_number", "waybill"])
def test_other_names_for_the_awb(key: str) -> None:
    assert one(feed({key: "1333110020173", "current_status": "INT"})).awb == "1333110020173"
    assert one({key: "1333110020174", "current_status": "INT"}).awb == "1333110020174"


def test_reverse_tracking_number_does_not_make_a_return() -> None:
    event = one(feed({"awbno": "A1", "current_status": "INT", "reverse_tracking_number": "R-77"}))
    assert (event.shipment_type, event.forward_awb, event.return_awb) == (F, "A1", None)


def test_json_number_awb_stays_exact() -> None:
    payload = json.loads('{"hash": "h", "status_feed": [{"awbno": 1333110020164, "carrier_id": 3411}]}')
    event = one(payload)
    assert event.awb == "1333110020164" and event.aggregator_meta["carrier_id"] == "3411"


def test_single_shape_with_gapped_scans_object_and_api_input_fallback() -> None:
    body = {
        "awbno": "SW123",
        "current_status": "OOD",
        "api_input": {"order_id": "ACME-9", "carrier": "Bluedart", "current_status": "DEL", "current_status_desc": "x"},
        "scans": {
            "0": {"time": "2024-06-02 18:10:00", "status": "Out for delivery"},
            "2": {"time": "2024-06-01 09:00:00", "status": "In transit"},
        },
    }
    event = one(body)
    assert (event.notification_type, event.raw_code) == (T.OUT_FOR_DELIVERY, "OOD"), "top level wins"
    assert (event.forward_order_code, event.courier_name) == ("ACME-9", "Bluedart")
    assert event.status_time == datetime(2024, 6, 2, 18, 10, tzinfo=IST), "newest by time, not by key"
    assert event.raw is body and event.aggregator_meta["current_status_desc"] == "x"


def test_single_shape_reads_everything_from_api_input() -> None:
    body = {"api_input": {"awbno": 1333110020164, "current_status": "RDEL", "order_id": "R-1",
                          "scans": [{"time": "01-06-2024 10:00"}, {"time": "02-06-2024 09:00"}]}}  # fmt: skip
    event = one(body)
    assert (event.notification_type, event.shipment_type, event.awb) == (T.RETURN_DELIVERED, R, "1333110020164")
    assert (event.return_order_id, event.status_time_raw) == ("R-1", "02-06-2024 09:00")


def test_newest_scan_time_ignores_list_order() -> None:
    scans = [{"time": "2024-05-01 08:00:00"}, {"time": "2024-05-01 12:00:00"}, {"time": "2024-04-30 23:00:00"}]
    for ordered in (scans, scans[::-1]):
        assert one(feed({"awbno": "A", "scans": ordered})).status_time_raw == "2024-05-01 12:00:00"


def test_unparseable_time_keeps_raw_and_does_not_borrow_a_scan_time() -> None:
    event = one(feed({"awbno": "A", "status_time": "31-31-2024 99:00", "scans": [{"time": "2024-05-01 12:00:00"}]}))
    assert (event.status_time, event.status_time_raw) == (None, "31-31-2024 99:00")


# --- pings and rejections ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"hash": "h", "status_feed": []},
        {"status_feed": {}},
        {"order_id": "12345", "current_status": "DEL"},
        {"order_id": "12345", "current_status": "DEL", "awbno": "", "carrier": "Test"},
    ],
)
def test_test_ping(payload: dict[str, Any]) -> None:
    assert shipway.parse(payload) == ParseResult.test_ping()


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ([], "JSON object"),
        ("DEL", "JSON object"),
        (None, "JSON object"),
        ({}, "awbno"),
        ({"order_id": "12345"}, "awbno"),
        ({"current_status": "DEL", "carrier": "X"}, "awbno"),
        ({"order_id": "1", "current_status": "DEL", "status_feed": None}, "awbno"),
        (feed({"awbno": "A"}, {"awbno": "NA", "current_status": "DEL"}), r"status_feed\[1\]"),
        (feed({"awbno": "A"}, {"awbno": "B"}, "not an entry"), r"status_feed\[2\]"),
    ],
)
def test_unidentifiable(payload: Any, detail: str) -> None:
    with pytest.raises(Unidentifiable, match=detail):
        shipway.parse(payload)


# --- anything JSON ----------------------------------------------------------------------------

FIELDS = [
    "hash", "status_feed", "awbno", "current_status", "status_time", "order_id", "carrier", "carrier_id",
    "api_input", "scans", "time", "tracking_url", "reverse_tracking_number",
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["NA", "", "DEL", "RPKP", "25", "03-05-2024 16:40", "2024-05-01 12:30:00"])
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
        result = shipway.parse(payload)
    except Unidentifiable:
        return
    assert isinstance(result, ParseResult)
    assert all(event.awb for event in result.events)
    assert result.ping == (not result.events)


# --- more of what the per-shipment panel shape carries ----------------------------------------


def test_scans_current_status_time_dates_a_single_shipment_without_status_time() -> None:
    body = {
        "awbno": "SW-T1",
        "current_status": "DEL",
        "scans_current_status": "Delivered",
        "scans_current_status_time": "02-06-2024 18:10",
        "scans": {"0": {"time": "01-06-2024 09:00", "status": "In transit"}},
    }
    event = one(body)
    assert (event.status_time_raw, event.status_time) == ("02-06-2024 18:10", datetime(2024, 6, 2, 18, 10, tzinfo=IST))
    # status_time stays first; the scans stay the last resort.
    assert one(body | {"status_time": "02-06-2024 18:00"}).status_time_raw == "02-06-2024 18:00"
    del body["scans_current_status_time"]
    assert one(body).status_time_raw == "01-06-2024 09:00"


def test_a_status_feed_sent_as_one_object_is_one_entry() -> None:
    entry = {"order_id": "SHOP-7003", "awbno": "1333110020166", "current_status": "OOD"}
    event = one({"hash": "h", "status_feed": entry})
    assert (event.notification_type, event.awb, event.forward_order_code) == (
        T.OUT_FOR_DELIVERY, "1333110020166", "SHOP-7003",
    )  # fmt: skip
    # An object keyed "0", "1", ... is still a list of entries.
    keyed = shipway.parse({"hash": "h", "status_feed": {"0": entry, "1": entry | {"awbno": "X2"}}})
    assert [e.awb for e in keyed.events] == ["1333110020166", "X2"]
