"""A return created without an AWB gets one through the org's aggregator account (SPEC §9).

Create Return Order carries most of what Generate Return AWB needs, under other names:
the customer (``pickupAddress``) and warehouse (``dropAddress``) with ``line1..3`` or
``street1..3``, items as ``orderItems`` or ``orderDetails.orderLineItemList``. What it
lacks (dimensions, say) makes a 422 that names the field, before any upstream call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from gateway.api.common import field_errors
from gateway.api.proxy_models import ReturnAwbRequest
from gateway.api.returns_models import Address, CreateReturnOrder
from gateway.errors import Unprocessable
from gateway.proxy.service import generate_return_awb
from gateway.returns import GeneratedAwb
from gateway.state import AppState
from gateway.values import IST


def _address(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    name = address.firstName or address.name
    return {
        "firstName": name,
        "lastName": address.lastName,
        "addressLine1": address.line1 or address.street1,
        "addressLine2": address.line2 or address.street2,
        "addressLine3": address.line3 or address.street3,
        "city": address.city,
        "state": address.state,
        "zip": address.zip,
        "country": address.country,
        "phone": address.phone,
        "email": address.email,
    }


def _line_items(body: CreateReturnOrder) -> list[dict[str, Any]]:
    if body.orderItems:
        return [
            {
                "name": (i.model_extra or {}).get("name") or i.channelSkuCode,
                "sku": i.channelSkuCode,
                "sellingPricePerUnit": (i.model_extra or {}).get("price") or 0,
                "quantity": i.quantity or 1,
            }
            for i in body.orderItems
        ]
    lines = body.orderDetails.orderLineItemList if body.orderDetails else None
    return [
        {
            "name": line.name or line.clientSkuId,
            "sku": line.clientSkuId,
            "sellingPricePerUnit": (line.model_extra or {}).get("price") or 0,
            "quantity": line.quantity or 1,
        }
        for line in lines or []
    ]


def _price(value: Any) -> float:
    # Not float(value): a price of "abc" was a 500. Validation refuses it below (422).
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def return_awb_request(body: CreateReturnOrder, now: float) -> ReturnAwbRequest:
    extra = body.model_extra or {}
    details = (body.orderDetails.model_extra or {}) if body.orderDetails else {}
    items = _line_items(body)
    amount = details.get("invoiceValue") or sum(_price(i["sellingPricePerUnit"]) * i["quantity"] for i in items)
    reason = body.returnReason or next((i.reason for i in body.orderItems or [] if i.reason), None)
    candidate = {
        "pickupAddress": _address(body.pickupAddress),
        "dropAddress": _address(body.dropAddress),
        "orderDetails": {
            "orderNumber": body.return_code(),
            "paymentType": "COD" if details.get("isCod") in (True, "true", 1) else "PREPAID",
            "orderAmount": amount,
            "orderDate": body.returnOrderTime or datetime.fromtimestamp(now, IST).isoformat(timespec="seconds"),
            "shipmentType": "RETURN",
            "orderLineItems": items,
            "forwardOrderNumber": body.forward_code(),
            "forwardShipmentNumber": details.get("forwardShipmentNumber"),
        },
        "shipmentDimension": extra.get("shipmentDimension"),
        "warehouseCode": body.warehouseCode or body.locationCode,
        "returnReason": reason,
    }
    try:
        return ReturnAwbRequest.model_validate(candidate)
    except ValidationError as exc:
        raise Unprocessable(
            "no awbNumber was given and the return lacks what generating one needs", errors=field_errors(exc)
        ) from None


async def generate_for_return(state: AppState, org: str, body: CreateReturnOrder) -> GeneratedAwb | None:
    """``gateway.state.ReturnAwbGenerator`` on the proxy; ``None`` when the org has no account."""
    routes = state.routes.get(org)
    if routes is None or not routes.accounts:
        if body.accountAlias:  # named, yet there is none: say so rather than create it without an AWB
            raise Unprocessable(
                f"unknown account {body.accountAlias!r}",
                errors=[{"field": "accountAlias", "message": "no such account"}],
            )
        return None
    request = return_awb_request(body, state.clock.now())
    result, _replayed = await generate_return_awb(state, org, request, account_alias=body.accountAlias)
    awb = result.get("awb")
    if not awb:
        return None
    carrier = result.get("carrierName")
    return GeneratedAwb(awb=str(awb), transporter=str(carrier) if carrier else None)
