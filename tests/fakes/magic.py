"""A fake RMS Magic aggregator (research/increff.md §3.1–§3.3): the account's URLs, its
credential header, ``GET ?orderId=``. It answers with the older spellings the documents
show where they differ: ``returnAwb`` for returns and ``couriers`` for Get Couriers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import FakeAggregator, label_url

HEADER = "x-api-key"
API_KEY = "magic-outbound-key-0001"
PATHS = {
    "generate_label": "/rms/generate-label",
    "get_label": "/rms/label",
    "generate_return_awb": "/rms/generate-return-awb",
    "get_return_awb": "/rms/return-awb",
    "get_couriers": "/rms/couriers",
}


@dataclass
class FakeMagic(FakeAggregator):
    api_key: str = API_KEY
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)

    def routes(self) -> list[Route]:
        return [
            Route(PATHS["generate_label"], self.generate_label, methods=["POST"]),
            Route(PATHS["get_label"], self.get_label, methods=["GET"]),
            Route(PATHS["generate_return_awb"], self.generate_return_awb, methods=["POST"]),
            Route(PATHS["get_return_awb"], self.get_return_awb, methods=["GET"]),
            Route(PATHS["get_couriers"], self.couriers, methods=["POST"]),
        ]

    async def _begin(self, request: Request) -> tuple[Any, Response | None]:
        call, early = await self.record(request)
        if early is None and request.headers.get(HEADER) != self.api_key:
            early = JSONResponse({"message": "unauthorized"}, status_code=401)
        elif early is None and self.mode == "refuse":
            early = JSONResponse({"message": "pincode 000000 is not serviceable"}, status_code=400)
        return call.body, early

    async def _generate(self, request: Request, *, is_return: bool) -> Response:
        body, early = await self._begin(request)
        if early is not None:
            return early
        details = body.get("orderDetails", {}) if isinstance(body, dict) else {}
        order_id = str(11000 + self.next_id())
        awb = f"MG{order_id}"
        order = {"orderId": order_id, "orderNumber": details.get("orderNumber"), "carrierName": "Delhivery"}
        if is_return:
            order["returnAwb"] = awb
        else:
            order.update(awb=awb, shippingLabelUrl=label_url("magic-labels", order_id))
        self.orders[order_id] = order
        return JSONResponse(order)

    async def _get(self, request: Request) -> Response:
        _body, early = await self._begin(request)
        if early is not None:
            return early
        order = self.orders.get(request.query_params.get("orderId", ""))
        if order is None:
            return JSONResponse({"message": "order not found"}, status_code=404)
        return JSONResponse(order)

    async def generate_label(self, request: Request) -> Response:
        return await self._generate(request, is_return=False)

    async def generate_return_awb(self, request: Request) -> Response:
        return await self._generate(request, is_return=True)

    async def get_label(self, request: Request) -> Response:
        return await self._get(request)

    async def get_return_awb(self, request: Request) -> Response:
        return await self._get(request)

    async def couriers(self, request: Request) -> Response:
        _body, early = await self._begin(request)
        if early is not None:
            return early
        return JSONResponse(
            {
                "couriers": [
                    {"courierId": 1002, "courierName": "Fedex", "priority": 2},
                    {"courierId": 1001, "courierName": "Delhivery", "priority": 1},
                ]
            }
        )
