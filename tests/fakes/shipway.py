"""A fake of Shipway's API (research/domain.md §2.1–§2.2): HTTP Basic (login email and
license key), ``POST /api/v2orders`` (with ``carrier_id``: AWB and label in
``awb_response``), ``GET /api/getorders``. Refusals come as HTTP 200 with
``"success": false``; amounts and ids are strings.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import FakeAggregator, label_url

USERNAME = "ops@acme.test"
LICENSE_KEY = "sw-license-key-0001"


@dataclass
class FakeShipway(FakeAggregator):
    username: str = USERNAME
    license_key: str = LICENSE_KEY
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)

    def routes(self) -> list[Route]:
        return [
            Route("/api/v2orders", self.v2orders, methods=["POST"]),
            Route("/api/getorders", self.getorders, methods=["GET"]),
        ]

    def _authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.username}:{self.license_key}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    async def _begin(self, request: Request) -> tuple[Any, Response | None]:
        call, early = await self.record(request)
        if early is None and not self._authorized(request):
            early = JSONResponse({"success": False, "message": "Authentication failed"}, status_code=401)
        return call.body, early

    async def v2orders(self, request: Request) -> Response:
        body, early = await self._begin(request)
        if early is not None:
            return early
        body = body if isinstance(body, dict) else {}
        if self.mode == "refuse":
            return JSONResponse({"success": False, "message": "Invalid shipping_zipcode"})
        order_id = str(body.get("order_id") or "")
        if not order_id or not body.get("products"):
            return JSONResponse({"success": False, "message": "order_id and products are required"})
        order = self.orders.setdefault(order_id, {"order_id": order_id})
        order["body"] = body
        if "carrier_id" not in body:
            return JSONResponse({"success": True, "message": "Order added successfully"})
        order.update(
            awb=f"SW{self.next_id():010d}",
            carrier_id=str(body["carrier_id"]),
            shipping_url=label_url("shipping_labels", f"{order_id}_thermal"),
        )
        return JSONResponse(
            {
                "success": True,
                "message": "Order added successfully",
                "awb_response": {
                    "success": True,
                    "message": "AWB assigned",
                    "AWB": order["awb"],
                    "carrier_id": order["carrier_id"],
                    "shipping_url": order["shipping_url"],
                },
            }
        )

    async def getorders(self, request: Request) -> Response:
        _body, early = await self._begin(request)
        if early is not None:
            return early
        wanted = request.query_params.get("orderid")
        rows = [
            {k: v for k, v in order.items() if k != "body"}
            for order in self.orders.values()
            if wanted is None or order["order_id"] == wanted
        ]
        if not rows:
            return JSONResponse({"success": False, "message": "No orders found"})
        return JSONResponse({"success": True, "message": rows})
