"""The canonical vocabulary (SPEC §6) and the values that travel through the gateway.

Pydantic lives at the edges (payloads, settings); inside, values are frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Source(StrEnum):
    SHIPROCKET = "shiprocket"
    SHIPWAY = "shipway"
    CLICKPOST = "clickpost"
    MAGIC = "magic"
    RETURNS = "returns"
    GATEWAY = "gateway"


#: Sources that push tracking webhooks to ``/v1/{org}/webhooks/{source}``.
WEBHOOK_SOURCES: tuple[Source, ...] = (Source.SHIPROCKET, Source.SHIPWAY, Source.CLICKPOST, Source.MAGIC)


class ShipmentType(StrEnum):
    FORWARD = "FORWARD"
    RETURN = "RETURN"


class NotificationType(StrEnum):
    AWB_GENERATED = "AWB_GENERATED"
    PICKUP_SCHEDULED = "PICKUP_SCHEDULED"
    OUT_FOR_PICKUP = "OUT_FOR_PICKUP"
    PICKUP_FAILED = "PICKUP_FAILED"
    PICKED_UP = "PICKED_UP"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    FAILED_DELIVERY = "FAILED_DELIVERY"
    DELIVERED = "DELIVERED"
    RTO = "RTO"
    RTO_IN_TRANSIT = "RTO_IN_TRANSIT"
    RTO_OUT_FOR_DELIVERY = "RTO_OUT_FOR_DELIVERY"
    RTO_DELIVERED = "RTO_DELIVERED"
    CANCELLED = "CANCELLED"
    PICKUP_CANCELLED = "PICKUP_CANCELLED"
    SHIPMENT_STUCK = "SHIPMENT_STUCK"
    LOST = "LOST"
    DAMAGED = "DAMAGED"
    RETURN_CREATED = "RETURN_CREATED"
    RETURN_PICKED_UP = "RETURN_PICKED_UP"
    RETURN_DELIVERED = "RETURN_DELIVERED"
    RETURN_CANCELLED = "RETURN_CANCELLED"
    EXCHANGE_PICKUP = "EXCHANGE_PICKUP"
    EXCHANGE_DELIVERED = "EXCHANGE_DELIVERED"
    UNKNOWN = "UNKNOWN"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_TYPES


TERMINAL_TYPES: frozenset[NotificationType] = frozenset(
    {
        NotificationType.DELIVERED,
        NotificationType.RTO_DELIVERED,
        NotificationType.CANCELLED,
        NotificationType.LOST,
        NotificationType.DAMAGED,
        NotificationType.RETURN_DELIVERED,
        NotificationType.RETURN_CANCELLED,
        NotificationType.EXCHANGE_DELIVERED,
    }
)


@dataclass(frozen=True, slots=True)
class Item:
    sku: str | None
    quantity: int | None
    item_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"itemId": self.item_id, "sku": self.sku, "quantity": self.quantity}


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundEvent:
    """One normalized status update, as a source parser reads it (before the store keys it).

    ``awb`` is the leg's own AWB: the forward AWB of a forward leg, the return AWB of a
    return leg (``None`` when a return is known only by its order id or forward AWB).
    """

    source: Source
    notification_type: NotificationType
    shipment_type: ShipmentType
    #: SPEC §6 ``rawStatus``: the status as the aggregator wrote it.
    raw_status: str | None
    #: The code the event was normalized on, as received; part of the dedupe key.
    raw_code: str | None
    #: Parsed status time (aware); ``None`` when absent or unparseable.
    status_time: datetime | None
    #: The status time exactly as received; part of the dedupe key.
    status_time_raw: str | None
    awb: str | None
    forward_awb: str | None = None
    return_awb: str | None = None
    return_order_id: str | None = None
    forward_order_code: str | None = None
    forward_shipment_code: str | None = None
    courier_name: str | None = None
    transporter: str | None = None
    warehouse_code: str | None = None
    return_order_time: datetime | None = None
    items: tuple[Item, ...] | None = None
    aggregator_name: str | None = None
    aggregator_meta: dict[str, Any] = field(default_factory=dict)
    #: The part of the request body this event was read from, kept verbatim.
    raw: Any = None

    def leg_keys(self) -> tuple[str, ...]:
        """Keys by which the leg may be known, strongest first (SPEC §2 "leg")."""
        if self.shipment_type is ShipmentType.FORWARD:
            awb = self.awb or self.forward_awb
            return (f"awb:{awb}",) if awb else ()
        keys: list[str] = []
        ret_awb = self.return_awb or self.awb
        if ret_awb:
            keys.append(f"awb:{ret_awb}")
        if self.return_order_id:
            keys.append(f"rid:{self.return_order_id}")
        if self.forward_awb:
            keys.append(f"fwd:{self.forward_awb}")
        return tuple(keys)
