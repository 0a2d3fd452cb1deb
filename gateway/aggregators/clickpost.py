"""ClickPost's API (research/domain.md §3.1–§3.2; zupta/slate ``_recommend.md``):
``username`` and ``key`` as query parameters; create-order v3 books the AWB and the label
in one call (``delivery_type: "RVP"`` with ``rvp_reason`` for a return, no label then);
the shipping label is fetched by waybill.

ClickPost answers HTTP 200 even when it refuses: success is ``meta.success`` with
``meta.status`` 200 or 303 (either may arrive as a string). It has no order id of its own,
so ``orderId`` is the waybill. Create Order is not a ClickPost step (SPEC §8).
"""

from __future__ import annotations

from typing import Any

from gateway.aggregators.accounts import ClickpostAccount
from gateway.aggregators.base import Courier, LabelResult, Operation, Unsupported, unsupported
from gateway.aggregators.http import Upstream, dig
from gateway.api.proxy_models import Address, CourierRequest, LabelRequest, ReturnAwbRequest
from gateway.values import first_text, flag, integer, mapping, text

CREATE_ORDER = "/api/v3/create-order/"
FETCH_LABEL = "/api/v1/fetch/shippinglabel/"
RECOMMEND = "/api/v1/recommendation_api/"


def _info(prefix: str, address: Address) -> dict[str, str]:
    return {
        f"{prefix}_name": address.name,
        f"{prefix}_phone": address.phone or "",
        f"{prefix}_address": address.street,
        f"{prefix}_city": address.city,
        f"{prefix}_state": address.state,
        f"{prefix}_pincode": address.zip,
        f"{prefix}_country": address.country,
    }


def create_order(request: LabelRequest, account: ClickpostAccount) -> dict[str, Any]:
    details = request.orderDetails
    dims = request.shipmentDimension
    cod = details.paymentType == "COD"
    shipment: dict[str, Any] = {
        "reference_number": details.orderNumber,
        "order_type": details.paymentType,
        "invoice_value": details.orderAmount,
        "invoice_date": details.orderDate[:10],
        "cod_value": details.orderAmount if cod else 0,
        "length": dims.length,
        "breadth": dims.breadth,
        "height": dims.height,
        "weight": dims.weight,  # grams
        "items": [
            {"sku": i.sku, "description": i.name, "quantity": i.quantity, "price": i.sellingPricePerUnit}
            for i in details.orderLineItems
        ],
    }
    if request.courierId is not None:
        shipment["courier_partner"] = integer(request.courierId) or request.courierId
    additional: dict[str, Any] = {
        "label": True,
        "delivery_type": "RVP" if isinstance(request, ReturnAwbRequest) else "FORWARD",
        "order_date": details.orderDate[:10],
    }
    if isinstance(request, ReturnAwbRequest):
        additional["rvp_reason"] = request.returnReason
    if account.account_code is not None:
        additional["account_code"] = account.account_code
    return {
        "pickup_info": {**_info("pickup", request.pickupAddress), "email": request.pickupAddress.email or ""},
        "drop_info": {**_info("drop", request.dropAddress), "drop_email": request.dropAddress.email or ""},
        "shipment_details": shipment,
        "additional": additional,
    }


class ClickpostClient:
    name = "clickpost"

    def __init__(self, upstream: Upstream, account: ClickpostAccount) -> None:
        self.up = upstream
        self.account = account
        self._auth = {"username": account.username, "key": account.key}

    def _result(self, data: Any) -> Any:
        meta = mapping(mapping(data).get("meta"))
        if not meta:
            raise self.up.malformed("meta")
        if not flag(meta.get("success")) or integer(meta.get("status")) not in (200, 303):
            raise self.up.refused(first_text(meta, "message") or f"status {text(meta.get('status'))}")
        return mapping(data).get("result")

    async def _post(self, path: str, body: Any) -> Any:
        response = await self.up.call("POST", self.account.base_url + path, json=body, params=self._auth)
        return self._result(self.up.check(response))

    async def recommend(self, request: CourierRequest) -> list[Courier]:
        ask = {
            "pickup_pincode": request.pickupPincode,
            "drop_pincode": request.dropPincode,
            "order_type": "COD" if request.isCod else "PREPAID",
            "reference_number": "1",
            "item": "shipment",
            "invoice_value": request.invoiceValue or 0,
            "delivery_type": "RVP" if request.deliveryType == "RETURN" else "FORWARD",
        }
        if request.weight is not None:
            ask["weight"] = request.weight  # grams
        result = await self._post(RECOMMEND, [ask])
        first = mapping(result[0]) if isinstance(result, list) and result else None
        if first is None:
            raise self.up.malformed("a recommendation result")
        prefs = first.get("preference_array") or []
        if not isinstance(prefs, list):
            raise self.up.malformed("a preference_array")
        couriers = []
        for index, pref in enumerate(mapping(p) for p in prefs):
            cp_id = text(pref.get("cp_id"))
            if cp_id is not None:
                priority = integer(pref.get("priority")) or index + 1
                couriers.append(Courier(cp_id, text(pref.get("cp_name")), priority))
        return sorted(couriers, key=lambda c: c.priority)

    async def create_order(self, request: LabelRequest) -> LabelResult:
        raise unsupported(self.name, Operation.CREATE_ORDER)

    async def _book(self, request: LabelRequest) -> LabelResult:
        result = mapping(await self._post(CREATE_ORDER, create_order(request, self.account)))
        waybill = text(result.get("waybill"))
        if waybill is None:
            raise self.up.malformed("a waybill")
        return LabelResult(
            order_id=waybill,
            order_number=request.orderDetails.orderNumber,
            awb=waybill,
            carrier_name=text(result.get("courier_name")),
            shipping_label_url=None if isinstance(request, ReturnAwbRequest) else text(result.get("label")),
        )

    async def generate_label(self, request: LabelRequest, created_order_id: str | None = None) -> LabelResult:
        return await self._book(request)

    async def get_label(self, order_id: str) -> LabelResult:
        params = {**self._auth, "waybill": order_id, "regenerate": "false"}
        response = await self.up.call("GET", self.account.base_url + FETCH_LABEL, params=params)
        result = self._result(self.up.check(response))
        url = text(dig(result, "shipping_label"))
        if url is None:
            raise self.up.malformed("a shipping_label")
        return LabelResult(order_id, None, order_id, None, url)

    async def generate_return_awb(self, request: ReturnAwbRequest) -> LabelResult:
        return await self._book(request)

    async def get_return_awb(self, order_id: str) -> LabelResult:
        raise Unsupported("clickpost has no lookup of a return AWB; only those generated through the gateway are known")
