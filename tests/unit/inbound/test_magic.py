"""RMS Magic push notification parsing: fixtures, every alias row, legs and RMS's spellings (increff.md §4, §6)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inbound_checks import WEBHOOK_FIXTURES, fixture_files, only_event, parse_fixture

from gateway.inbound import magic
from gateway.inbound.base import Unidentifiable
from gateway.models import InboundEvent, Item, NotificationType, ShipmentType, Source
from gateway.values import IST

FIXTURE_FILES = fixture_files(Source.MAGIC)

T = NotificationType

#: RMS names → SPEC §6 names, written out independently of the module (SPEC §6, increff.md §6).
EXPECTED_ALIASES: dict[str, str] = {
    "RETURN_PICKUP": "RETURN_PICKED_UP",
    "SHIPPING_LABEL_GENERATED": "AWB_GENERATED",
    "READY_TO_SHIP": "AWB_GENERATED",
    "AWB_ASSIGNED": "AWB_GENERATED",
    "RETURN_ORDER_PLACED": "RETURN_CREATED",
    "PICKUP_QUEUE": "PICKUP_SCHEDULED",
    "PICKUP_RESCHEDULED": "PICKUP_SCHEDULED",
    "SHIPPED": "IN_TRANSIT",
    "SLA_BREACHED": "SHIPMENT_STUCK",
    "DELIVERY_FAILED": "FAILED_DELIVERY",
    "ON_HOLD": "SHIPMENT_STUCK",
    "EXCHANGE_PICKED_UP": "EXCHANGE_PICKUP",
    "RETURN_PICKUP_FAILED": "PICKUP_FAILED",
    "RTO_FAILED": "RTO_IN_TRANSIT",
    "DESTROYED": "LOST",
    "ORDER_CREATED": "UNKNOWN",
    "INVOICED": "UNKNOWN",
    "INVOICE_GENERATED": "UNKNOWN",
    "PAYMENT_FAILED": "UNKNOWN",
    "UNFULFILLABLE": "UNKNOWN",
}

RETURN_INFO = {"returnOrderId": "RET-1", "returnAwb": "RAWB-1", "carrierName": "Delhivery Reverse"}


def forward(notification_type: Any = "IN_TRANSIT", **fields: Any) -> dict[str, Any]:
    return {
        "forwardOrderCode": "ORD-1",
        "forwardShipmentCode": "101",
        "forwardAwb": "FAWB-1",
        "carrierName": "Bluedart",
        "notificationType": notification_type,
        "shipmentType": "FORWARD",
        "logisticAggregatorName": "NARVAR",
        "warehouseCode": "wh-1",
        "returnOrderInfo": None,
        "items": [{"sku": "sku-1", "quantity": 1}],
        **fields,
    }


def ret(notification_type: Any = "RETURN_PICKUP", **fields: Any) -> dict[str, Any]:
    return forward(notification_type, **{"shipmentType": "RETURN", "returnOrderInfo": dict(RETURN_INFO), **fields})


def one(payload: Any) -> InboundEvent:
    return only_event(magic.parse, payload)


# --- fixtures ---------------------------------------------------------------------------------


def test_fixtures_are_found() -> None:
    assert len(FIXTURE_FILES) >= 2, f"no Magic fixtures under {WEBHOOK_FIXTURES}"


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_normalizes_to_its_expectation(path: Path) -> None:
    for event, _expect in parse_fixture(magic.parse, Source.MAGIC, path):
        assert event.leg_keys(), "every accepted event must be keyable to a leg"


# --- the tables -------------------------------------------------------------------------------


def test_alias_table_is_the_documented_one() -> None:
    assert {k: v.value for k, v in magic.ALIASES.items()} == EXPECTED_ALIASES


def test_a_few_rows_literally() -> None:
    assert magic.ALIASES["RETURN_PICKUP"] is T.RETURN_PICKED_UP
    assert magic.ALIASES["SHIPPED"] is T.IN_TRANSIT
    assert magic.ALIASES["RETURN_PICKUP_FAILED"] is T.PICKUP_FAILED
    assert magic.RETURN_ALIASES == {"RETURN_PICKUP_FAILED"}


@pytest.mark.parametrize("name", sorted(magic.ALIASES))
def test_every_alias_row(name: str) -> None:
    event = one(ret(name))
    assert event.notification_type == EXPECTED_ALIASES[name] == magic.ALIASES[name]
    assert (event.raw_status, event.raw_code) == (name, name)


@pytest.mark.parametrize("name", [t.value for t in NotificationType])
def test_every_canonical_name_passes_through(name: str) -> None:
    assert one(forward(name)).notification_type == name


def test_return_pickup_failed_is_a_return_leg_even_if_declared_forward() -> None:
    event = one(ret("RETURN_PICKUP_FAILED", shipmentType="FORWARD"))
    assert (event.notification_type, event.shipment_type) == (T.PICKUP_FAILED, ShipmentType.RETURN)
    assert event.return_awb == "RAWB-1"


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("return_pickup", T.RETURN_PICKED_UP),
        (" Return Pickup ", T.RETURN_PICKED_UP),
        ("return-picked-up", T.RETURN_PICKED_UP),
        ("in transit", T.IN_TRANSIT),
        ("Out For  Delivery", T.OUT_FOR_DELIVERY),
        ("delivered", T.DELIVERED),
    ],
)
def test_type_spelling_is_forgiven_and_kept_as_sent(sent: str, expected: NotificationType) -> None:
    event = one(ret(sent))
    assert event.notification_type is expected
    assert (event.raw_status, event.raw_code) == (sent, sent)


@pytest.mark.parametrize("sent", ["SOMETHING_NEW", "RETURN PICKUP PENDING", "IN_TRANSITX", "12"])
def test_unknown_type_is_unknown_with_raw_kept(sent: str) -> None:
    event = one(forward(sent))
    assert event.notification_type is T.UNKNOWN
    assert event.raw_status == sent


@pytest.mark.parametrize("sent", [None, "", "   ", {"a": 1}])
def test_missing_type_is_unknown(sent: Any) -> None:
    event = one(forward(sent))
    assert (event.notification_type, event.raw_status) == (T.UNKNOWN, None)


# --- legs -------------------------------------------------------------------------------------


def test_forward_leg() -> None:
    event = one(forward())
    assert (event.awb, event.forward_awb, event.return_awb, event.return_order_id) == ("FAWB-1", "FAWB-1", None, None)
    assert event.forward_order_code == "ORD-1"
    assert event.forward_shipment_code == "101"
    assert event.courier_name == "Bluedart"
    assert event.transporter is None
    assert event.aggregator_name == "NARVAR"
    assert event.warehouse_code == "wh-1"
    assert event.items == (Item(sku="sku-1", quantity=1),)
    assert event.leg_keys() == ("awb:FAWB-1",)


def test_return_leg() -> None:
    event = one(ret())
    assert (event.notification_type, event.shipment_type) == (T.RETURN_PICKED_UP, ShipmentType.RETURN)
    assert (event.awb, event.return_awb) == ("RAWB-1", "RAWB-1")
    assert (event.return_order_id, event.forward_awb) == ("RET-1", "FAWB-1")
    assert event.transporter == "Delhivery Reverse"
    assert event.courier_name == "Bluedart"
    assert event.leg_keys() == ("awb:RAWB-1", "rid:RET-1", "fwd:FAWB-1")


def test_return_known_only_by_its_order_id() -> None:
    event = one(ret("RETURN_CREATED", forwardAwb=None, returnOrderInfo={"returnOrderId": "RET-2"}))
    assert (event.awb, event.return_awb, event.forward_awb) == (None, None, None)
    assert event.leg_keys() == ("rid:RET-2",)


def test_return_known_only_by_the_forward_awb() -> None:
    event = one(forward("RETURN_CREATED", shipmentType="RETURN"))
    assert event.awb is None
    assert event.leg_keys() == ("fwd:FAWB-1",)


@pytest.mark.parametrize("declared", ["RETURN", "return", " Return "])
def test_shipment_type_is_case_insensitive(declared: str) -> None:
    assert one(ret(shipmentType=declared)).shipment_type is ShipmentType.RETURN


def test_missing_shipment_type_with_return_info_is_a_return() -> None:
    payload = ret("IN_TRANSIT")
    del payload["shipmentType"]
    assert one(payload).shipment_type is ShipmentType.RETURN


@pytest.mark.parametrize("return_info", [None, {}, "n/a"])
def test_missing_shipment_type_without_return_info_is_forward(return_info: Any) -> None:
    payload = forward(returnOrderInfo=return_info)
    del payload["shipmentType"]
    event = one(payload)
    assert (event.shipment_type, event.awb) == (ShipmentType.FORWARD, "FAWB-1")


def test_missing_shipment_type_with_a_return_only_type_is_a_return() -> None:
    payload = forward("RETURN_ORDER_PLACED")
    del payload["shipmentType"]
    event = one(payload)
    assert (event.notification_type, event.shipment_type) == (T.RETURN_CREATED, ShipmentType.RETURN)
    assert event.leg_keys() == ("fwd:FAWB-1",)


def test_forward_ignores_return_info() -> None:
    event = one(forward(returnOrderInfo=dict(RETURN_INFO)))
    assert (event.shipment_type, event.return_awb, event.return_order_id) == (ShipmentType.FORWARD, None, None)
    assert event.leg_keys() == ("awb:FAWB-1",)


# --- aliases and loose values -----------------------------------------------------------------


def test_line_items_and_forward_order_id_aliases() -> None:
    payload = ret(forwardOrderId="LA-ORD-7", lineItems=[{"sku": "s", "quantity": "2", "itemId": 55}])
    del payload["forwardOrderCode"], payload["items"]
    event = one(payload)
    assert event.forward_order_code == "LA-ORD-7"
    assert event.items == (Item(sku="s", quantity=2, item_id="55"),)


def test_no_items_is_none() -> None:
    payload = forward()
    del payload["items"]
    assert one(payload).items is None


def test_awb_as_json_number_stays_an_exact_string() -> None:
    event = one(forward(forwardAwb=12345678901234567))
    assert event.awb == "12345678901234567"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("notificationUpdateTime", 1714557600, datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("notificationUpdateTime", 1714557600000, datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("statusTime", "2024-05-01T15:30:00+05:30", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
        ("timestamp", "2024-05-01 15:30:00", datetime(2024, 5, 1, 15, 30, tzinfo=IST)),
        ("eventTime", "2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
    ],
)
def test_time_fields(field: str, value: Any, expected: datetime) -> None:
    event = one(forward(**{field: value}))
    assert event.status_time == expected
    assert event.status_time_raw == str(value)


def test_first_present_time_field_wins() -> None:
    event = one(forward(notificationUpdateTime="", statusTime="2024-05-01T10:00:00Z", eventTime=1))
    assert event.status_time_raw == "2024-05-01T10:00:00Z"


def test_unparseable_time_keeps_raw() -> None:
    event = one(forward(statusTime="next tuesday"))
    assert (event.status_time, event.status_time_raw) == (None, "next tuesday")


def test_no_time_is_none() -> None:
    event = one(forward())
    assert (event.status_time, event.status_time_raw) == (None, None)


def test_raw_is_the_body() -> None:
    payload = forward()
    assert one(payload).raw is payload


# --- unidentifiable ---------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [[], [{"forwardAwb": "A"}], "IN_TRANSIT", 1, None, False])
def test_not_an_object_is_unidentifiable(payload: Any) -> None:
    with pytest.raises(Unidentifiable):
        magic.parse(payload)


@pytest.mark.parametrize("awb", [None, "", "NA", -1])
def test_forward_without_forward_awb_is_unidentifiable(awb: Any) -> None:
    with pytest.raises(Unidentifiable, match="forwardAwb"):
        magic.parse(forward(forwardAwb=awb))


def test_return_with_no_identity_is_unidentifiable() -> None:
    with pytest.raises(Unidentifiable, match="RETURN"):
        magic.parse(ret(forwardAwb="", returnOrderInfo={"carrierName": "X", "returnAwb": "NA"}))


# --- robustness -------------------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)  # orjson's integer range
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["", "NA", "FORWARD", "RETURN", "return_pickup", "Return Pickup Failed", "1714557600"])
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)


_json = st.recursive(_scalars, _containers)
_items = (
    st.lists(st.fixed_dictionaries({}, optional={"sku": _json, "quantity": _json, "itemId": _json}) | _json, max_size=3)
    | _json
)
_ids = st.sampled_from(["A1", 12345678901234567, ""]) | _json
_bodies = st.fixed_dictionaries(
    {},
    optional={
        "forwardOrderCode": _json,
        "forwardOrderId": _json,
        "forwardShipmentCode": _json,
        "forwardAwb": _ids,
        "carrierName": _json,
        "notificationType": st.sampled_from([*magic.ALIASES, *T]) | _json,
        "shipmentType": _json,
        "logisticAggregatorName": _json,
        "warehouseCode": _json,
        "returnOrderInfo": st.fixed_dictionaries(
            {}, optional={"returnOrderId": _ids, "returnAwb": _ids, "carrierName": _json}
        )
        | _json,
        "items": _items,
        "lineItems": _items,
        "notificationUpdateTime": _json,
        "statusTime": _json,
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_json, _bodies))
def test_parse_only_returns_events_or_raises_unidentifiable(payload: Any) -> None:
    try:
        result = magic.parse(payload)
    except Unidentifiable:
        return
    (event,) = result.events
    assert event.source is Source.MAGIC
    assert event.leg_keys()
    assert event.status_time is None or event.status_time.tzinfo is not None


@pytest.mark.parametrize("key", ["awb", "awbNumber", "awb_number"])
def test_other_names_for_the_forward_awb(key: str) -> None:
    body = forward("DELIVERED", forwardAwb=None)
    body[key] = "FAWB-9"
    event = one(body)
    assert (event.notification_type, event.awb, event.forward_awb) == (T.DELIVERED, "FAWB-9", "FAWB-9")


def test_status_stands_in_for_a_missing_notification_type() -> None:
    body = forward(None)
    body["status"] = "out for delivery"
    assert one(body).notification_type is T.OUT_FOR_DELIVERY
    # The contract's field wins when both are there.
    assert one({**forward("DELIVERED"), "status": "IN_TRANSIT"}).notification_type is T.DELIVERED


# --- the RMS standard push shape (increff.md §5.1), as relays send it on ----------------------


def test_rms_standard_push_field_names_are_read() -> None:
    payload = ret(
        forwardAwb=None,
        courierName="SELF",
        returnOrderInfo={
            "returnOrderId": "2",
            "returnAwb": "awb-1_rev",
            "transporter": "Self Reverse",
            "returnOrderTime": 1678949844,
        },
        logisticAggregatorInfo={"logisticAggregatorName": "CLICKPOST", "logisticAggregatorMetaData": {}},
    )
    del payload["carrierName"], payload["logisticAggregatorName"]
    event = one(payload)
    assert (event.courier_name, event.transporter, event.aggregator_name) == ("SELF", "Self Reverse", "CLICKPOST")
    assert event.return_order_time == datetime(2023, 3, 16, 6, 57, 24, tzinfo=UTC)
    # Earlier versions of the page sent returnOrderTime as an ISO date.
    iso = one(ret(returnOrderInfo=dict(RETURN_INFO, returnOrderTime="2021-07-14T13:23:02Z")))
    assert iso.return_order_time == datetime(2021, 7, 14, 13, 23, 2, tzinfo=UTC)
    # The contract's own names win when both are sent.
    both = one(ret(courierName="Other", returnOrderInfo=dict(RETURN_INFO, transporter="Other")))
    assert (both.courier_name, both.transporter, both.aggregator_name) == ("Bluedart", "Delhivery Reverse", "NARVAR")


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("RETURN_IN_TRANSIT", T.IN_TRANSIT),
        ("RETURN_OUT_FOR_PICKUP", T.OUT_FOR_PICKUP),
        ("RETURN_PICKUP_SCHEDULED", T.PICKUP_SCHEDULED),
        ("RETURN_AWB_GENERATED", T.AWB_GENERATED),
        ("Return Out For Delivery", T.OUT_FOR_DELIVERY),
        ("RETURN_PICKUP_CANCELLED", T.PICKUP_CANCELLED),
    ],
)
def test_a_return_prefix_on_a_generic_type_is_that_type_on_a_return_leg(sent: str, expected: NotificationType) -> None:
    event = one(ret(sent, shipmentType=None))
    assert (event.notification_type, event.shipment_type, event.raw_status) == (expected, ShipmentType.RETURN, sent)
    assert event.return_awb == "RAWB-1"


@pytest.mark.parametrize("declared", ["REVERSE", "reverse", "RVP"])
def test_reverse_shipment_type_is_a_return(declared: str) -> None:
    event = one(forward("IN_TRANSIT", shipmentType=declared))
    assert (event.shipment_type, event.awb, event.forward_awb) == (ShipmentType.RETURN, None, "FAWB-1")
