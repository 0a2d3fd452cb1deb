"""The outbound push body (SPEC §7.1), serialized once and signed as sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.models import InboundEvent, ShipmentType
from gateway.values import epoch_seconds


@dataclass(frozen=True, slots=True)
class LegIdentity:
    """What the leg already knows, used to fill ids an event does not repeat."""

    awb: str | None
    forward_awb: str | None
    return_order_id: str | None


def build_envelope(
    *,
    event_id: str,
    org: str,
    event: InboundEvent,
    leg: LegIdentity,
    effective_time: float,
    stale: bool,
) -> dict[str, Any]:
    is_return = event.shipment_type is ShipmentType.RETURN
    forward_awb = event.forward_awb or (event.awb if not is_return else None) or leg.forward_awb
    return_info: dict[str, Any] | None = None
    if is_return:
        return_info = {
            "returnOrderId": event.return_order_id or leg.return_order_id,
            "returnAwb": event.return_awb or event.awb or leg.awb,
            "transporter": event.transporter or event.courier_name,
            "returnOrderTime": epoch_seconds(event.return_order_time),
        }
    return {
        "eventId": event_id,
        "org": org,
        "notificationType": event.notification_type.value,
        "shipmentType": event.shipment_type.value,
        "forwardOrderCode": event.forward_order_code,
        "forwardShipmentCode": event.forward_shipment_code,
        "forwardAwb": forward_awb,
        "courierName": event.courier_name,
        "notificationUpdateTime": int(effective_time),
        "returnOrderInfo": return_info,
        "logisticAggregatorInfo": {
            "logisticAggregatorName": event.aggregator_name,
            "logisticAggregatorMetaData": dict(event.aggregator_meta),
        },
        "warehouseCode": event.warehouse_code,
        "items": [item.to_json() for item in event.items] if event.items is not None else None,
        "rawStatus": event.raw_status,
        "stale": stale,
    }
