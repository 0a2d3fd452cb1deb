"""``AWB_GENERATED``: a label or return AWB made through the proxy, told to the org's
endpoints like any other status (SPEC §8), with source ``gateway``."""

from __future__ import annotations

from typing import Any

from gateway.aggregators.accounts import Account, MagicAccount
from gateway.api.proxy_models import LabelRequest, ReturnAwbRequest
from gateway.models import InboundEvent, Item, NotificationType, ShipmentType, Source

RAW = NotificationType.AWB_GENERATED.value


def aggregator_name(account: Account) -> str:
    """``logisticAggregatorName``: a Magic aggregator's own name, else SHIPROCKET etc."""
    return account.name if isinstance(account, MagicAccount) else account.aggregator.upper()


def awb_generated(request: LabelRequest, result: dict[str, Any], account: Account) -> InboundEvent:
    details = request.orderDetails
    awb = result.get("awb")
    carrier = result.get("carrierName")
    items = tuple(Item(sku=i.sku, quantity=i.quantity) for i in details.orderLineItems)
    meta = {"orderId": result.get("orderId"), "accountAlias": result.get("accountAlias")}
    common: dict[str, Any] = {
        "source": Source.GATEWAY,
        "notification_type": NotificationType.AWB_GENERATED,
        "raw_status": RAW,
        "raw_code": RAW,
        # No aggregator time: the event takes the time it was received (SPEC §7.1).
        "status_time": None,
        "status_time_raw": None,
        "courier_name": carrier,
        "warehouse_code": request.warehouseCode,
        "items": items,
        "aggregator_name": aggregator_name(account),
        "aggregator_meta": meta,
        "raw": result,
    }
    if isinstance(request, ReturnAwbRequest):
        return InboundEvent(
            shipment_type=ShipmentType.RETURN,
            awb=awb,
            return_awb=awb,
            return_order_id=details.orderNumber,
            forward_order_code=details.forwardOrderNumber,
            forward_shipment_code=details.forwardShipmentNumber,
            transporter=carrier,
            **common,
        )
    return InboundEvent(
        shipment_type=ShipmentType.FORWARD,
        awb=awb,
        forward_order_code=details.orderNumber,
        forward_shipment_code=details.shipmentCode or None,
        **common,
    )
