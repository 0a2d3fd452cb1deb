"""ClickPost tracking webhooks (domain.md §3.3): one status update per request.

ClickPost normalizes every courier's scans to ``clickpost_status_code``; ``additional.is_rvp``
marks a reverse pickup, and code 101 is a return placed before any courier has a waybill.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from gateway.inbound.base import ParseResult, Unidentifiable
from gateway.models import InboundEvent, Item, NotificationType, ShipmentType, Source
from gateway.values import first_text, flag, integer, mapping, text, timestamp

SOURCE: Source = Source.CLICKPOST
AGGREGATOR_NAME = "CLICKPOST"

_T = NotificationType

#: ``clickpost_status_code`` → (type, type when ``additional.is_rvp``), domain.md §3.4/§6.3 in
#: SPEC §6 names. A reverse leg keeps the generic name unless a return-specific one exists.
STATUS_CODES: dict[int, tuple[NotificationType, NotificationType]] = {
    1: (_T.AWB_GENERATED, _T.AWB_GENERATED),
    28: (_T.AWB_GENERATED, _T.AWB_GENERATED),
    2: (_T.PICKUP_SCHEDULED, _T.PICKUP_SCHEDULED),
    25: (_T.OUT_FOR_PICKUP, _T.OUT_FOR_PICKUP),
    3: (_T.PICKUP_FAILED, _T.PICKUP_FAILED),
    4: (_T.PICKED_UP, _T.RETURN_PICKED_UP),
    5: (_T.IN_TRANSIT, _T.IN_TRANSIT),
    18: (_T.IN_TRANSIT, _T.IN_TRANSIT),
    6: (_T.OUT_FOR_DELIVERY, _T.OUT_FOR_DELIVERY),
    7: (_T.FAILED_DELIVERY, _T.FAILED_DELIVERY),
    9: (_T.FAILED_DELIVERY, _T.FAILED_DELIVERY),
    8: (_T.DELIVERED, _T.RETURN_DELIVERED),
    10: (_T.CANCELLED, _T.RETURN_CANCELLED),
    11: (_T.RTO, _T.RTO),
    12: (_T.RTO, _T.RTO),
    21: (_T.RTO_IN_TRANSIT, _T.RTO_IN_TRANSIT),
    26: (_T.RTO_IN_TRANSIT, _T.RTO_IN_TRANSIT),
    27: (_T.RTO_IN_TRANSIT, _T.RTO_IN_TRANSIT),
    15: (_T.RTO_IN_TRANSIT, _T.RTO_IN_TRANSIT),
    13: (_T.RTO_OUT_FOR_DELIVERY, _T.RTO_OUT_FOR_DELIVERY),
    14: (_T.RTO_DELIVERED, _T.RTO_DELIVERED),
    16: (_T.LOST, _T.LOST),
    17: (_T.DAMAGED, _T.DAMAGED),
    19: (_T.SHIPMENT_STUCK, _T.SHIPMENT_STUCK),
    20: (_T.SHIPMENT_STUCK, _T.SHIPMENT_STUCK),
    30: (_T.EXCHANGE_PICKUP, _T.EXCHANGE_PICKUP),
    31: (_T.IN_TRANSIT, _T.IN_TRANSIT),
    32: (_T.EXCHANGE_DELIVERED, _T.EXCHANGE_DELIVERED),
    101: (_T.RETURN_CREATED, _T.RETURN_CREATED),
}

#: ClickPost's status names (domain.md §3.4) → code, keyed lower case without separators
#: ("OutForDelivery", "OUT_FOR_DELIVERY" and "Out for delivery" alike). Read only when a body
#: carries no code at all: the code is the contract, descriptions have been seen to disagree.
STATUS_NAMES: dict[str, int] = {
    "orderplaced": 1,
    "manifested": 1,
    "pickuppending": 2,
    "pickupfailed": 3,
    "pickedup": 4,
    "intransit": 5,
    "outfordelivery": 6,
    "notserviceable": 7,
    "delivered": 8,
    "faileddelivery": 9,
    "cancelledorder": 10,
    "cancelled": 10,
    "rtorequested": 11,
    "rto": 12,
    "rtooutfordelivery": 13,
    "rtodelivered": 14,
    "rtofailed": 15,
    "lost": 16,
    "damaged": 17,
    "shipmentdelayed": 18,
    "contactcustomercare": 19,
    "shipmentheld": 20,
    "rtointransit": 21,
    "outforpickup": 25,
    "rtocontactcustomercare": 26,
    "rtoshipmentdelay": 27,
    "awbregistered": 28,
    "exchangepickup": 30,
    "exchangeintransit": 31,
    "exchangedelivered": 32,
    "returnorderplaced": 101,
}

#: Codes that are a return leg whatever ``is_rvp`` says.
RETURN_CODES: frozenset[int] = frozenset({101})

#: ``additional.notification_event_id`` values that say more than the status code: a pickup
#: cancellation arrives with the shipment's ordinary code (e.g. 10), so the event id wins.
EVENT_IDS: dict[int, NotificationType] = {16: _T.PICKUP_CANCELLED}

_CODE = "clickpost_status_code"


class _Leg(NamedTuple):
    awb: str | None
    forward_awb: str | None
    return_awb: str | None
    return_order_id: str | None
    forward_order_code: str | None


def normalize(code: int | None, *, is_rvp: bool, event_id: int | None = None) -> NotificationType:
    """The canonical type of a status code; ``UNKNOWN`` for a code not in the table."""
    if event_id is not None and event_id in EVENT_IDS:
        return EVENT_IDS[event_id]
    pair = STATUS_CODES.get(code) if code is not None else None
    if pair is None:
        return _T.UNKNOWN
    return pair[1] if is_rvp else pair[0]


def parse(body: Any) -> ParseResult:
    if not isinstance(body, Mapping):
        raise Unidentifiable("ClickPost webhook body must be a JSON object")
    additional = mapping(body.get("additional"))
    latest = mapping(additional.get("latest_status"))
    # The top-level code is this event; latest_status may already be newer (no ordering
    # guarantee, S15), so it only stands in when the top level carries no code at all.
    event, other = (body, latest) if text(body.get(_CODE)) is not None else (latest, body)
    raw_code = text(event.get(_CODE))
    code = integer(event.get(_CODE))
    description = text(event.get("clickpost_status_description")) or text(other.get("clickpost_status_description"))
    if raw_code is None and description is not None:
        code = STATUS_NAMES.get("".join(c for c in description.lower() if c.isalnum()))
        raw_code = description if code is not None else None
    is_return = flag(additional.get("is_rvp")) or code in RETURN_CODES
    event_id = integer(additional.get("notification_event_id"))
    if event_id is None:
        # The documented 101 sample (S13) also carries the id at the top level.
        event_id = integer(body.get("notification_event"))
    time_raw, status_time = _status_time(event, other)
    leg = _leg(body, additional, latest, is_return=is_return, code=code)
    return ParseResult(
        events=(
            InboundEvent(
                source=SOURCE,
                notification_type=normalize(code, is_rvp=is_return, event_id=event_id),
                shipment_type=ShipmentType.RETURN if is_return else ShipmentType.FORWARD,
                raw_status=description or raw_code,
                raw_code=raw_code,
                status_time=status_time,
                status_time_raw=time_raw,
                awb=leg.awb,
                forward_awb=leg.forward_awb,
                return_awb=leg.return_awb,
                return_order_id=leg.return_order_id,
                forward_order_code=leg.forward_order_code,
                courier_name=first_text(additional, "courier_partner_name", "courier_name")
                or first_text(body, "courier_partner_name", "courier_name"),
                items=_items(additional.get("item_info")),
                aggregator_name=AGGREGATOR_NAME,
                aggregator_meta=_meta(body, additional, latest, event_id),
                raw=body,
            ),
        )
    )


def _status_time(event: Mapping[str, Any], other: Mapping[str, Any]) -> tuple[str | None, datetime | None]:
    # The first time present is the event's, even if unreadable: falling through to the
    # other object's time would date this event by a different scan.
    for source in (event, other):
        raw = text(source.get("timestamp"))
        if raw is not None:
            return raw, timestamp(source.get("timestamp"))
    return None, None


def _leg(
    body: Mapping[str, Any],
    additional: Mapping[str, Any],
    latest: Mapping[str, Any],
    *,
    is_return: bool,
    code: int | None,
) -> _Leg:
    waybill = text(body.get("waybill"))
    if not is_return:
        if waybill is None:
            raise Unidentifiable("ClickPost webhook has no readable waybill")
        order = first_text(additional, "order_id") or first_text(latest, "reference_number")
        return _Leg(waybill, waybill, None, None, order)
    forward_awb = text(additional.get("forward_awb"))
    if waybill is None and not (code in RETURN_CODES and forward_awb is not None):
        raise Unidentifiable(
            "ClickPost webhook has no readable waybill (and, for a code 101 return, no additional.forward_awb)"
        )
    # The docs show no return order id in webhooks; these keys are read only when present,
    # never guessed from latest_status.reference_number, whose meaning on a reverse leg is unclear.
    return _Leg(
        awb=waybill,
        forward_awb=forward_awb,
        return_awb=waybill,
        return_order_id=first_text(additional, "return_reference_number", "reference_number"),
        forward_order_code=first_text(additional, "forward_reference_number"),
    )


def _items(value: Any) -> tuple[Item, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(
        Item(sku=text(entry.get("sku")), quantity=integer(entry.get("quantity")))
        for entry in value
        if isinstance(entry, Mapping)
    )


def _meta(
    body: Mapping[str, Any], additional: Mapping[str, Any], latest: Mapping[str, Any], event_id: int | None
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "cp_id": text(body.get("cp_id")),
        "ndr_status_code": text(additional.get("ndr_status_code")),
        "ndr_status_description": text(additional.get("ndr_status_description")),
        "notification_event_id": event_id,
        "courier_partner_edd": text(additional.get("courier_partner_edd")),
        "reference_number": text(latest.get("reference_number")),
    }
    dsqc = additional.get("dsqc")
    if isinstance(dsqc, Mapping) and dsqc:
        meta["dsqc"] = dict(dsqc)
    return meta
