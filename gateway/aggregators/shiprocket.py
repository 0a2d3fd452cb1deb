"""Shiprocket's API (research/domain.md §1.1–§1.2): login token, adhoc order, assign AWB,
generate label, return order, serviceability.

The token lives about ten days and the login answer carries no expiry: it is cached for
nine and fetched again once when a call answers 401. ``orderId`` in the gateway's
answers is Shiprocket's ``shipment_id``: the AWB and the label belong to the shipment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from gateway.aggregators.accounts import ShiprocketAccount
from gateway.aggregators.base import Courier, LabelResult, order_time
from gateway.aggregators.http import Upstream, dig
from gateway.api.proxy_models import Address, CourierRequest, LabelRequest, ReturnAwbRequest
from gateway.values import first_text, flag, integer, mapping, text

API = "/v1/external"
TOKEN_TTL = 9 * 86400.0


class TokenCache:
    """Login tokens per account, shared by every request; one login at a time per account."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._tokens: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, login: Callable[[], Awaitable[str]], *, stale: str | None = None) -> str:
        """A live token; ``stale`` is one the aggregator just refused (fetch a new one)."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)
            if cached is not None and cached[0] != stale and cached[1] > self._now():
                return cached[0]
            token = await login()
            self._tokens[key] = (token, self._now() + TOKEN_TTL)
            return token


def _num(value: str) -> int | str:
    """Shiprocket wants ids as integers; one that is not numeric goes as sent."""
    return int(value) if value.isdigit() else value


def _payment(request: LabelRequest) -> str:
    return "COD" if request.orderDetails.paymentType == "COD" else "Prepaid"


def _items(request: LabelRequest) -> list[dict[str, Any]]:
    reason = request.returnReason if isinstance(request, ReturnAwbRequest) else None
    items = []
    for item in request.orderDetails.orderLineItems:
        row: dict[str, Any] = {
            "name": item.name,
            "sku": item.sku,
            "units": item.quantity,
            "selling_price": item.sellingPricePerUnit,
        }
        if reason is not None:
            row["return_reason"] = reason
        items.append(row)
    return items


def _address(prefix: str, name_key: str, address: Address) -> dict[str, Any]:
    return {
        f"{prefix}_{name_key}": address.firstName,
        f"{prefix}_last_name": address.lastName or "",
        f"{prefix}_address": address.addressLine1,
        f"{prefix}_address_2": ", ".join(p for p in (address.addressLine2, address.addressLine3) if p),
        f"{prefix}_city": address.city,
        f"{prefix}_pincode": address.zip,
        f"{prefix}_state": address.state,
        f"{prefix}_country": address.country,
        f"{prefix}_email": address.email or "",
        f"{prefix}_phone": address.phone or "",
    }


def _package(request: LabelRequest) -> dict[str, Any]:
    dims = request.shipmentDimension
    return {
        "sub_total": request.orderDetails.orderAmount,
        "length": dims.length,
        "breadth": dims.breadth,
        "height": dims.height,
        "weight": round(dims.weight / 1000.0, 3),  # grams → kg
    }


def adhoc_order(request: LabelRequest, account: ShiprocketAccount) -> dict[str, Any]:
    """``POST /orders/create/adhoc``: billing (= shipping) is the drop address."""
    details = request.orderDetails
    return {
        "order_id": details.orderNumber,
        "order_date": order_time(details.orderDate, "%Y-%m-%d %H:%M"),
        "pickup_location": account.pickup_location,
        **_address("billing", "customer_name", request.dropAddress),
        "shipping_is_billing": True,
        "order_items": _items(request),
        "payment_method": _payment(request),
        **_package(request),
    }


def return_order(request: ReturnAwbRequest) -> dict[str, Any]:
    """``POST /orders/create/return``: picked up from the customer, shipped to the warehouse."""
    details = request.orderDetails
    return {
        "order_id": details.orderNumber,
        "order_date": order_time(details.orderDate, "%Y-%m-%d"),
        **_address("pickup", "customer_name", request.pickupAddress),
        **_address("shipping", "customer_name", request.dropAddress),
        "order_items": _items(request),
        "payment_method": _payment(request),
        **_package(request),
    }


class ShiprocketClient:
    name = "shiprocket"

    def __init__(self, upstream: Upstream, account: ShiprocketAccount, tokens: TokenCache, cache_key: str) -> None:
        self.up = upstream
        self.account = account
        self.tokens = tokens
        self.cache_key = cache_key

    async def _login(self) -> str:
        response = await self.up.call(
            "POST",
            self.account.base_url + API + "/auth/login",
            json={"email": self.account.email, "password": self.account.password},
        )
        token = text(mapping(self.up.check(response)).get("token"))
        if token is None:
            raise self.up.malformed("a token")
        return token

    async def _call(self, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None) -> Any:
        token = await self.tokens.get(self.cache_key, self._login)
        url = self.account.base_url + API + path
        response = await self.up.call(
            method, url, json=json, params=params, headers={"authorization": f"Bearer {token}"}
        )
        if response.status_code == 401:
            # Expired or revoked: log in once more and repeat (a 401 was not acted on).
            token = await self.tokens.get(self.cache_key, self._login, stale=token)
            headers = {"authorization": f"Bearer {token}"}
            response = await self.up.call(method, url, json=json, params=params, headers=headers)
        return self.up.check(response)

    async def _create(self, path: str, body: dict[str, Any]) -> tuple[str, Any]:
        data = mapping(await self._call("POST", path, json=body))
        shipment_id = text(data.get("shipment_id"))
        if shipment_id is None:
            message = first_text(data, "message", "status")
            raise self.up.refused(message) if message else self.up.malformed("a shipment_id")
        return shipment_id, data

    async def _assign_awb(self, shipment_id: str, courier_id: str | None, *, is_return: bool) -> tuple[str, str | None]:
        body: dict[str, Any] = {"shipment_id": _num(shipment_id), "is_return": 1 if is_return else 0}
        if courier_id is not None:
            body["courier_id"] = _num(courier_id)
        data = mapping(await self._call("POST", "/courier/assign/awb", json=body))
        awb_data = mapping(dig(data, "response", "data"))
        awb = text(awb_data.get("awb_code"))
        # Shiprocket answers 200 with awb_assign_status 0 when no courier would take it.
        if not flag(data.get("awb_assign_status")) or awb is None:
            message = first_text(awb_data, "awb_assign_error") or first_text(data, "message")
            raise self.up.refused(message or "no AWB was assigned")
        return awb, text(awb_data.get("courier_name"))

    async def _label_url(self, shipment_id: str) -> str | None:
        data = mapping(await self._call("POST", "/courier/generate/label", json={"shipment_id": [_num(shipment_id)]}))
        return text(data.get("label_url")) if flag(data.get("label_created")) else None

    async def recommend(self, request: CourierRequest) -> list[Courier]:
        params = {
            "pickup_postcode": request.pickupPincode,
            "delivery_postcode": request.dropPincode,
            "cod": "1" if request.isCod else "0",
            "weight": str(round((request.weight or 500.0) / 1000.0, 3)),
            "is_return": "1" if request.deliveryType == "RETURN" else "0",
        }
        if request.invoiceValue is not None:
            params["declared_value"] = str(request.invoiceValue)
        data = mapping(await self._call("GET", "/courier/serviceability/", params=params))
        status = integer(data.get("status"))
        if status is not None and status != 200:
            raise self.up.refused(first_text(data, "message") or f"status {status}")
        companies = dig(data, "data", "available_courier_companies")
        if not isinstance(companies, list):
            raise self.up.malformed("available_courier_companies")
        recommended = text(dig(data, "data", "recommended_courier_company_id"))
        rows = [(text(mapping(c).get("courier_company_id")), text(mapping(c).get("courier_name"))) for c in companies]
        ordered = sorted((r for r in rows if r[0]), key=lambda r: r[0] != recommended)
        return [
            Courier(courier_id=cid or "", courier_name=name, priority=i) for i, (cid, name) in enumerate(ordered, 1)
        ]

    async def create_order(self, request: LabelRequest) -> LabelResult:
        shipment_id, data = await self._create("/orders/create/adhoc", adhoc_order(request, self.account))
        return LabelResult(
            order_id=shipment_id,
            order_number=request.orderDetails.orderNumber,
            awb=text(data.get("awb_code")),
            carrier_name=text(data.get("courier_name")),
        )

    async def generate_label(self, request: LabelRequest, created_order_id: str | None = None) -> LabelResult:
        shipment_id = created_order_id
        if shipment_id is None:
            shipment_id, _ = await self._create("/orders/create/adhoc", adhoc_order(request, self.account))
        awb, courier = await self._assign_awb(shipment_id, request.courierId, is_return=False)
        # The AWB is assigned: a label that fails now is fetched again by Get Label.
        url = await self._label_url(shipment_id)
        return LabelResult(shipment_id, request.orderDetails.orderNumber, awb, courier, url)

    async def _shipment(self, order_id: str) -> dict[str, Any]:
        data = mapping(await self._call("GET", "/shipments/" + quote(order_id, safe="")))
        shipment = dig(data, "data")
        if not isinstance(shipment, dict):
            raise self.up.malformed("shipment data")
        return shipment

    async def get_label(self, order_id: str) -> LabelResult:
        shipment = await self._shipment(order_id)
        url = text(shipment.get("label_url")) or await self._label_url(order_id)
        return LabelResult(
            order_id=order_id,
            order_number=first_text(shipment, "channel_order_id"),
            awb=first_text(shipment, "awb", "awb_code"),
            carrier_name=first_text(shipment, "courier", "courier_name"),
            shipping_label_url=url,
        )

    async def generate_return_awb(self, request: ReturnAwbRequest) -> LabelResult:
        shipment_id, _ = await self._create("/orders/create/return", return_order(request))
        awb, courier = await self._assign_awb(shipment_id, request.courierId, is_return=True)
        return LabelResult(shipment_id, request.orderDetails.orderNumber, awb, courier)

    async def get_return_awb(self, order_id: str) -> LabelResult:
        shipment = await self._shipment(order_id)
        return LabelResult(
            order_id=order_id,
            order_number=first_text(shipment, "channel_order_id"),
            awb=first_text(shipment, "awb", "awb_code"),
            carrier_name=first_text(shipment, "courier", "courier_name"),
        )
