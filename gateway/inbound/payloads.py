"""The documented shape of each source's webhook body, as pydantic models.

These models describe, they do not gate: the parsers (``gateway.inbound.<source>``) accept
what aggregators really send (numbers as strings, sentinels, missing fields), which is
more than any honest schema allows. The route checks a body against its model only to
notice an aggregator drifting from its documentation (``shape_deviations``); a deviation
is logged and the parser still decides. ``gateway.openapi`` publishes the same models.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.field_limits import Identifier, Text
from gateway.models import Source

#: Aggregators send ids and codes as strings or numbers interchangeably.
Scalar = str | int | float | None
#: A value the parser always reads into the notification when present, so held to its field
#: limit (a number always fits): an identifier, or a text. Values read only as a fallback stay
#: ``Scalar`` here, though the limit applies to them too once they are read.
Id = Identifier | int | float | None
Txt = Text | int | float | None


class _Payload(BaseModel):
    # Unknown fields are the norm (aggregators add fields without notice): kept, never refused.
    model_config = ConfigDict(extra="allow")


class ShiprocketScan(_Payload):
    date: Scalar = Field(None, description="scan time, e.g. `2025-03-14 09:12:40`")
    activity: Scalar = None
    location: Scalar = None
    sr_status: Scalar = Field(None, alias="sr-status", description="Shiprocket status id of the scan")
    sr_status_label: Scalar = Field(None, alias="sr-status-label")


class ShiprocketWebhook(_Payload):
    """Shiprocket tracking webhook; normalized on `shipment_status_id`, then the newest scan's
    `sr-status`, then the status text. A `channel_order_id` starting `enter your` is a panel ping."""

    awb: Id = Field(None, description="the AWB; required unless the body is a panel test ping")
    courier_name: Id = None
    current_status: Scalar = None
    current_status_id: Scalar = Field(None, description="ignored for normalization")
    shipment_status: Txt = Field(None, description="kept as `rawStatus`")
    shipment_status_id: Scalar = None
    current_timestamp: Id = Field(None, description="day-first `DD MM YYYY HH:MM:SS`, India time")
    order_id: Id = None
    channel_order_id: Scalar = None
    channel: Scalar = None
    is_return: Scalar | bool = None
    scans: list[ShiprocketScan] | None = None


class ShipwayEntry(_Payload):
    awbno: Id = Field(None, description="the AWB")
    current_status: Txt = Field(None, description="Shipway status code (`DEL`, `INT`, `RTO`, ...)")
    current_status_desc: Txt = None
    status_time: Id = Field(None, description="`DD-MM-YYYY HH:MM` or `YYYY-MM-DD HH:MM:SS`, India time")
    order_id: Id = None
    carrier: Id = None
    carrier_id: Txt = None
    tracking_url: Txt = None
    reverse_tracking_number: Txt = None
    api_input: dict[str, Any] | None = Field(None, description="a copy of the same fields, as Shipway stored them")
    scans: dict[str, Any] | list[Any] | None = Field(None, description='an object keyed "0", "1", ... or a list')


class ShipwayWebhook(ShipwayEntry):
    """Shipway sends a batch (`hash` + `status_feed[]`, each entry its own notification) or a
    single shipment at the top level. `hash` is the credential unless `?key=` is used."""

    hash: str | None = Field(None, description="the org's Shipway hash (the credential)")
    status_feed: list[ShipwayEntry] | None = None


class ClickpostAdditional(_Payload):
    is_rvp: bool | Scalar = Field(None, description="true for a return (reverse pickup)")
    forward_awb: Id = Field(None, description="the forward AWB; keys code 101 (return placed, no waybill)")
    notification_event_id: Scalar = None
    courier_partner_name: Id = None
    order_id: Id = None
    return_reference_number: Id = None
    forward_reference_number: Id = None
    latest_status: dict[str, Any] | None = None
    item_info: list[Any] | None = None


class ClickpostWebhook(_Payload):
    """ClickPost tracking webhook (forward, RTO and returns); `"NA"`, `""` and `cp_id: -1` mean absent."""

    waybill: Id = Field(None, description="the AWB; required except for code 101")
    clickpost_status_code: Txt = None
    clickpost_status_description: Txt = Field(None, description="kept as `rawStatus`")
    status: Scalar = None
    timestamp: Id = Field(None, description="ISO 8601, `YYYY-MM-DD HH:MM:SS` or `07/27/2017 5:01 p.m.`")
    cp_id: Txt = None
    courier_partner_name: Id = None
    notification_event: Scalar = None
    additional: ClickpostAdditional | None = None


class MagicReturnOrderInfo(_Payload):
    returnOrderId: Id = None
    returnAwb: Id = None
    transporter: Scalar = None
    returnOrderTime: Scalar = None


class MagicItem(_Payload):
    itemId: Id = None
    sku: Id = None
    quantity: Scalar = None


class MagicWebhook(_Payload):
    """RMS Magic push notification: the §7.1 envelope shape, as any Magic aggregator sends it."""

    notificationType: Txt = Field(None, description="canonical type; `RETURN_PICKUP` reads as RETURN_PICKED_UP")
    shipmentType: Scalar = Field(None, description="`FORWARD` or `RETURN`")
    forwardOrderCode: Id = None
    forwardOrderId: Scalar = None
    forwardShipmentCode: Id = None
    forwardAwb: Id = Field(None, description="required for FORWARD notifications")
    carrierName: Id = None
    notificationUpdateTime: Id = Field(None, description="epoch seconds or ISO 8601")
    returnOrderInfo: MagicReturnOrderInfo | None = None
    logisticAggregatorName: Id = None
    warehouseCode: Id = None
    items: list[MagicItem] | None = None
    lineItems: list[MagicItem] | None = None


PAYLOADS: dict[Source, type[BaseModel]] = {
    Source.SHIPROCKET: ShiprocketWebhook,
    Source.SHIPWAY: ShipwayWebhook,
    Source.CLICKPOST: ClickpostWebhook,
    Source.MAGIC: MagicWebhook,
}


def shape_deviations(source: Source, body: Any) -> list[str]:
    """Where ``body`` departs from ``source``'s documented shape (field paths only: values may
    hold secrets). Empty when it conforms. Never raises: the parser is the judge."""
    model = PAYLOADS.get(source)
    if model is None or not isinstance(body, dict):
        return []
    try:
        model.model_validate(body)
    except ValidationError as exc:
        return sorted({".".join(map(str, e["loc"])) or "(body)" for e in exc.errors()})
    return []
