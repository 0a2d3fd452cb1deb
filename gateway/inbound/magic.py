"""The generic "RMS Magic" push notification (increff.md §4): any aggregator speaking Increff's contract.

Magic already sends RMS notification types, so normalizing is mostly spelling: RMS has
several names for one state (increff.md §6), and aggregators vary case and separators.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gateway.inbound.base import ParseResult, Unidentifiable
from gateway.models import InboundEvent, Item, NotificationType, ShipmentType, Source
from gateway.values import first_text, integer, mapping, text, timestamp

SOURCE: Source = Source.MAGIC

_T = NotificationType

#: RMS notificationType names that are not SPEC §6 names → canonical type. Canonical names
#: pass through; anything in neither is UNKNOWN (pre-AWB fulfilment states among them).
ALIASES: dict[str, NotificationType] = {
    "RETURN_PICKUP": _T.RETURN_PICKED_UP,
    "SHIPPING_LABEL_GENERATED": _T.AWB_GENERATED,
    "READY_TO_SHIP": _T.AWB_GENERATED,
    "AWB_ASSIGNED": _T.AWB_GENERATED,
    "RETURN_ORDER_PLACED": _T.RETURN_CREATED,
    "PICKUP_QUEUE": _T.PICKUP_SCHEDULED,
    "PICKUP_RESCHEDULED": _T.PICKUP_SCHEDULED,
    "SHIPPED": _T.IN_TRANSIT,
    "SLA_BREACHED": _T.SHIPMENT_STUCK,
    "DELIVERY_FAILED": _T.FAILED_DELIVERY,
    "ON_HOLD": _T.SHIPMENT_STUCK,
    "EXCHANGE_PICKED_UP": _T.EXCHANGE_PICKUP,
    "RETURN_PICKUP_FAILED": _T.PICKUP_FAILED,
    "RTO_FAILED": _T.RTO_IN_TRANSIT,
    "DESTROYED": _T.LOST,
    "ORDER_CREATED": _T.UNKNOWN,
    "INVOICED": _T.UNKNOWN,
    "INVOICE_GENERATED": _T.UNKNOWN,
    "PAYMENT_FAILED": _T.UNKNOWN,
    "UNFULFILLABLE": _T.UNKNOWN,
}

#: Aliases whose "return" lives only in the name: the canonical type is generic, so the leg
#: must be a return whatever ``shipmentType`` says.
RETURN_ALIASES: frozenset[str] = frozenset({"RETURN_PICKUP_FAILED"})

#: Types that only a return leg can have; used when ``shipmentType`` is missing.
_RETURN_ONLY: frozenset[NotificationType] = frozenset(
    {_T.RETURN_CREATED, _T.RETURN_PICKED_UP, _T.RETURN_DELIVERED, _T.RETURN_CANCELLED}
)

#: The contract names no time field: RMS's own envelope name first, then common variants; first present wins.
TIME_FIELDS: tuple[str, ...] = ("notificationUpdateTime", "statusTime", "timestamp", "eventTime")

#: Where a forward AWB may be: the contract's ``forwardAwb``, then names aggregators use.
FORWARD_AWB_FIELDS: tuple[str, ...] = ("forwardAwb", "awb", "awbNumber", "awb_number")

_SEPARATORS = re.compile(r"[\s\-]+")
_RETURN_PREFIX = "RETURN_"
#: Types a ``RETURN_`` prefix cannot turn into a return type: ``UNKNOWN`` says nothing, and
#: the RTO names belong to a forward leg coming back, not to a customer's return.
_NOT_GENERIC: frozenset[NotificationType] = frozenset(
    {_T.UNKNOWN, _T.RTO, _T.RTO_IN_TRANSIT, _T.RTO_OUT_FOR_DELIVERY, _T.RTO_DELIVERED}
)
#: ``shipmentType`` spellings other than the contract's two.
_SHIPMENT_TYPE_ALIASES: dict[str, ShipmentType] = {"REVERSE": ShipmentType.RETURN, "RVP": ShipmentType.RETURN}


def type_key(value: Any) -> str | None:
    """``notificationType`` as a table key: trimmed, upper case, spaces and hyphens as ``_``."""
    s = text(value)
    return None if s is None else _SEPARATORS.sub("_", s).upper()


def normalize(value: Any) -> NotificationType:
    key = type_key(value)
    if key is None:
        return _T.UNKNOWN
    if key in ALIASES:
        return ALIASES[key]
    if key in _T.__members__:
        return _T(key)
    return _returned_generic(key) or _T.UNKNOWN


def _returned_generic(key: str) -> NotificationType | None:
    """``RETURN_IN_TRANSIT`` and the like: a generic type named for a return leg, which SPEC §6
    writes as the generic name with ``shipmentType`` RETURN."""
    rest = key.removeprefix(_RETURN_PREFIX)
    if rest == key or rest not in _T.__members__:
        return None
    found = _T(rest)
    return None if found in _NOT_GENERIC else found


def parse(body: Any) -> ParseResult:
    if not isinstance(body, Mapping):
        raise Unidentifiable("Magic notification body must be a JSON object")
    # The contract's name first; relays of other systems' pushes call it "status".
    # (The value itself, not first_text's trimmed copy: raw_status keeps it as sent.)
    sent_type = body.get("notificationType") if text(body.get("notificationType")) is not None else body.get("status")
    notification_type = normalize(sent_type)
    return_info = mapping(body.get("returnOrderInfo"))
    shipment_type = _shipment_type(body, return_info, notification_type, type_key(sent_type))
    forward_awb = first_text(body, *FORWARD_AWB_FIELDS)
    return_awb = first_text(return_info, "returnAwb", "awb")
    return_order_id = text(return_info.get("returnOrderId"))
    awb: str | None
    if shipment_type is ShipmentType.FORWARD:
        if forward_awb is None:
            raise Unidentifiable("Magic FORWARD notification has no forwardAwb")
        # A forward leg is keyed by its own AWB only; return ids on it would be someone else's.
        awb, return_awb, return_order_id = forward_awb, None, None
    else:
        if return_awb is None and return_order_id is None and forward_awb is None:
            raise Unidentifiable(
                "Magic RETURN notification has none of returnOrderInfo.returnAwb, "
                "returnOrderInfo.returnOrderId, forwardAwb"
            )
        awb = return_awb
    time_key = next((k for k in TIME_FIELDS if text(body.get(k)) is not None), None)
    time_value = body.get(time_key) if time_key else None
    return ParseResult(
        events=(
            InboundEvent(
                source=SOURCE,
                notification_type=notification_type,
                shipment_type=shipment_type,
                raw_status=_as_sent(sent_type),
                raw_code=_as_sent(sent_type),
                status_time=timestamp(time_value),
                status_time_raw=text(time_value),
                awb=awb,
                forward_awb=forward_awb,
                return_awb=return_awb,
                return_order_id=return_order_id,
                forward_order_code=first_text(body, "forwardOrderCode", "forwardOrderId"),
                forward_shipment_code=text(body.get("forwardShipmentCode")),
                # The contract's names first, then the RMS standard push's (increff.md §5.1),
                # which relays of RMS's own output send on.
                courier_name=first_text(body, "carrierName", "courierName"),
                transporter=first_text(return_info, "carrierName", "transporter"),
                return_order_time=timestamp(return_info.get("returnOrderTime")),
                warehouse_code=text(body.get("warehouseCode")),
                items=_items(body.get("items")) or _items(body.get("lineItems")),
                aggregator_name=text(body.get("logisticAggregatorName"))
                or text(mapping(body.get("logisticAggregatorInfo")).get("logisticAggregatorName")),
                raw=body,
            ),
        )
    )


def _shipment_type(
    body: Mapping[str, Any],
    return_info: Mapping[str, Any],
    notification_type: NotificationType,
    key: str | None,
) -> ShipmentType:
    if key in RETURN_ALIASES or (key is not None and _returned_generic(key) is not None):
        return ShipmentType.RETURN
    declared = (text(body.get("shipmentType")) or "").upper()
    if declared in ShipmentType.__members__:
        return ShipmentType(declared)
    if declared in _SHIPMENT_TYPE_ALIASES:
        return _SHIPMENT_TYPE_ALIASES[declared]
    # shipmentType is mandatory in the contract; when a sender omits it, infer rather than reject.
    if return_info or notification_type in _RETURN_ONLY:
        return ShipmentType.RETURN
    return ShipmentType.FORWARD


def _as_sent(value: Any) -> str | None:
    # rawStatus is the type exactly as the sender wrote it (SPEC §6), spacing included.
    if isinstance(value, str):
        return value if value.strip() else None
    return text(value)


def _items(value: Any) -> tuple[Item, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(
        Item(
            sku=text(entry.get("sku")),
            quantity=integer(entry.get("quantity")),
            item_id=text(entry.get("itemId")),
        )
        for entry in value
        if isinstance(entry, Mapping)
    )
