"""Shipway's API (research/domain.md §2.1–§2.2): HTTP Basic with the login email and the
license key; ``POST /api/v2orders`` creates an order, and with a ``carrier_id`` also books
the AWB and label; ``GET /api/getorders`` reads an order back.

Shipway's own order id is the one we send, so ``orderId`` is the ``orderNumber``. No public
contract exists for Shipway return orders or return AWBs (§2.2 "Gap"), nor for a courier
recommendation: those answer 501 until Shipway documents them.
"""

from __future__ import annotations

import base64
from typing import Any

from gateway.aggregators.accounts import ShipwayAccount
from gateway.aggregators.base import Courier, LabelResult, Operation, Refused, Unsupported, order_time, unsupported
from gateway.aggregators.http import Upstream
from gateway.api.proxy_models import Address, CourierRequest, LabelRequest, ReturnAwbRequest
from gateway.errors import NotFound
from gateway.values import first_text, flag, mapping, text

NO_RETURN_CONTRACT = "shipway has no documented return AWB API yet; the gateway cannot generate or read one"


def _num(value: float) -> str:
    # Shipway's samples write every amount as a string.
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def _address(prefix: str, address: Address) -> dict[str, str]:
    return {
        f"{prefix}_firstname": address.firstName,
        f"{prefix}_lastname": address.lastName or "",
        f"{prefix}_address": address.addressLine1,
        f"{prefix}_address2": ", ".join(p for p in (address.addressLine2, address.addressLine3) if p),
        f"{prefix}_city": address.city,
        f"{prefix}_state": address.state,
        f"{prefix}_country": address.country,
        f"{prefix}_zipcode": address.zip,
        f"{prefix}_phone": address.phone or "",
    }


def v2order(request: LabelRequest, account: ShipwayAccount, *, with_label: bool) -> dict[str, Any]:
    details = request.orderDetails
    dims = request.shipmentDimension
    body: dict[str, Any] = {
        "order_id": details.orderNumber,
        "order_date": order_time(details.orderDate, "%Y-%m-%d %H:%M:%S"),
        "email": request.dropAddress.email or "",
        "products": [
            {
                "product": item.name,
                "price": _num(item.sellingPricePerUnit),
                "product_code": item.sku,
                "product_quantity": str(item.quantity),
                "discount": "0",
                "tax_rate": "0",
                "tax_title": "",
            }
            for item in details.orderLineItems
        ],
        "payment_type": "C" if details.paymentType == "COD" else "P",
        "order_total": _num(details.orderAmount),
        "discount": "0",
        "shipping": "0",
        "gift_card_amt": "0",
        "taxes": "0",
        **_address("billing", request.dropAddress),
        **_address("shipping", request.dropAddress),
        "order_weight": _num(dims.weight),  # grams
        "box_length": _num(dims.length),
        "box_breadth": _num(dims.breadth),
        "box_height": _num(dims.height),
    }
    if with_label:
        carrier = request.courierId or account.carrier_id
        if carrier is None:
            raise Refused("shipway needs a carrier for a label: send courierId (a Shipway carrier_id)")
        body["carrier_id"] = carrier
        if account.warehouse_id is not None:
            body["warehouse_id"] = account.warehouse_id
        if account.return_warehouse_id is not None:
            body["return_warehouse_id"] = account.return_warehouse_id
    return body


class ShipwayClient:
    name = "shipway"

    def __init__(self, upstream: Upstream, account: ShipwayAccount) -> None:
        self.up = upstream
        self.account = account
        pair = f"{account.username}:{account.license_key}".encode()
        self._auth = {"authorization": "Basic " + base64.b64encode(pair).decode()}

    async def _push(self, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.up.call("POST", self.account.base_url + "/api/v2orders", json=body, headers=self._auth)
        data = mapping(self.up.check(response))
        # Shipway answers 200 with "success": false when it refuses.
        if not flag(data.get("success")):
            raise self.up.refused(first_text(data, "message") or "order not accepted")
        return dict(data)

    async def recommend(self, request: CourierRequest) -> list[Courier]:
        raise unsupported(self.name, Operation.RECOMMEND)

    async def create_order(self, request: LabelRequest) -> LabelResult:
        await self._push(v2order(request, self.account, with_label=False))
        number = request.orderDetails.orderNumber
        return LabelResult(order_id=number, order_number=number, awb=None, carrier_name=None)

    async def generate_label(self, request: LabelRequest, created_order_id: str | None = None) -> LabelResult:
        data = await self._push(v2order(request, self.account, with_label=True))
        awb_response = mapping(data.get("awb_response"))
        awb = first_text(awb_response, "AWB", "awb")
        if not flag(awb_response.get("success")) or awb is None:
            raise self.up.refused(first_text(awb_response, "message") or "no AWB was assigned")
        number = request.orderDetails.orderNumber
        return LabelResult(
            order_id=number,
            order_number=number,
            awb=awb,
            carrier_name=first_text(awb_response, "carrier_name", "carrier", "carrier_id"),
            shipping_label_url=text(awb_response.get("shipping_url")),
        )

    async def get_label(self, order_id: str) -> LabelResult:
        response = await self.up.call(
            "GET", self.account.base_url + "/api/getorders", params={"orderid": order_id}, headers=self._auth
        )
        data = self.up.check(response)
        rows = (
            data
            if isinstance(data, list)
            else next((v for k in ("message", "orders", "data") if isinstance(v := mapping(data).get(k), list)), None)
        )
        if rows is None:
            if isinstance(data, dict) and not flag(data.get("success", True)):
                raise NotFound(self.up.scrub(f"shipway: {first_text(data, 'message') or 'order not found'}"))
            raise self.up.malformed("an order list")
        order = next((mapping(r) for r in rows if text(mapping(r).get("order_id")) == order_id), None)
        if order is None:
            raise NotFound(f"shipway has no order {order_id!r}")
        return LabelResult(
            order_id=order_id,
            order_number=order_id,
            awb=first_text(order, "awb", "awbno", "AWB"),
            carrier_name=first_text(order, "carrier_name", "carrier", "courier_name", "carrier_id"),
            shipping_label_url=first_text(order, "shipping_url", "label_url"),
        )

    async def generate_return_awb(self, request: ReturnAwbRequest) -> LabelResult:
        raise Unsupported(NO_RETURN_CONTRACT)

    async def get_return_awb(self, order_id: str) -> LabelResult:
        raise Unsupported(NO_RETURN_CONTRACT)
