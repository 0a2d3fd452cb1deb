"""A fake of Shiprocket's API (research/domain.md §1.1–§1.2), quirks included.

Login gives a token; ``expire_tokens()`` makes every issued token answer 401 (as an
expired one does) until the next login. Ids go out as numbers in some places and numeric
strings in others. ``assign/awb`` refuses with HTTP 200 and ``awb_assign_status: 0``
(``refuse_awb = True``); order creation refuses with 422 and ``errors`` (``"refuse"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import FakeAggregator, label_url

API = "/v1/external"
EMAIL = "api-user@acme.test"
PASSWORD = "sr-api-password-0001"


@dataclass
class FakeShiprocket(FakeAggregator):
    email: str = EMAIL
    password: str = PASSWORD
    pickup_locations: tuple[str, ...] = ("Primary",)
    refuse_awb: bool = False
    tokens: set[str] = field(default_factory=set)
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    logins: int = 0

    def routes(self) -> list[Route]:
        return [
            Route(API + "/auth/login", self.login, methods=["POST"]),
            Route(API + "/orders/create/adhoc", self.adhoc, methods=["POST"]),
            Route(API + "/orders/create/return", self.return_order, methods=["POST"]),
            Route(API + "/courier/assign/awb", self.assign_awb, methods=["POST"]),
            Route(API + "/courier/generate/label", self.generate_label, methods=["POST"]),
            Route(API + "/shipments/{shipment_id}", self.shipment, methods=["GET"]),
            Route(API + "/courier/serviceability/", self.serviceability, methods=["GET"]),
        ]

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.tokens

    async def _begin(self, request: Request) -> tuple[Any, Response | None]:
        call, early = await self.record(request)
        if early is None and not self._authorized(request):
            early = JSONResponse({"message": "Token has expired", "status_code": 401}, status_code=401)
        return call.body, early

    async def login(self, request: Request) -> Response:
        call, early = await self.record(request)
        if early is not None:
            return early
        body = call.body if isinstance(call.body, dict) else {}
        if body.get("email") != self.email or body.get("password") != self.password:
            return JSONResponse({"message": "Invalid email and password combination", "status_code": 400}, 400)
        self.logins += 1
        token = f"sr-jwt-{self.logins:04d}-{self.next_id()}"
        self.tokens.add(token)
        return JSONResponse({"id": 1, "email": self.email, "company_id": 7, "token": token})

    def _refusal(self, body: dict[str, Any]) -> Response | None:
        if self.mode == "refuse":
            return JSONResponse(
                {
                    "message": "Oops! Invalid Data.",
                    "errors": {"billing_pincode": ["The billing pincode must be 6 digits."]},
                    "status_code": 422,
                },
                status_code=422,
            )
        location = body.get("pickup_location")
        if location is not None and location not in self.pickup_locations:
            return JSONResponse({"message": f"Wrong Pickup location entered. {location!r}", "status_code": 422}, 422)
        return None

    async def _create(self, request: Request, status: str, code: int) -> Response:
        body, early = await self._begin(request)
        if early is not None:
            return early
        body = body if isinstance(body, dict) else {}
        refused = self._refusal(body)
        if refused is not None:
            return refused
        n = self.next_id()
        order_id, shipment_id = 500000 + n, 800000 + n
        self.shipments[str(shipment_id)] = {"order_id": order_id, "body": body, "awb": "", "courier": ""}
        return JSONResponse(
            {
                "order_id": order_id,
                "shipment_id": shipment_id,
                "status": status,
                "status_code": code,
                "onboarding_completed_now": 0,
                "awb_code": "",
                "courier_company_id": "",
                "courier_name": "",
            }
        )

    async def adhoc(self, request: Request) -> Response:
        return await self._create(request, "NEW", 1)

    async def return_order(self, request: Request) -> Response:
        return await self._create(request, "RETURN PENDING", 21)

    async def assign_awb(self, request: Request) -> Response:
        body, early = await self._begin(request)
        if early is not None:
            return early
        shipment = self.shipments.get(str(body.get("shipment_id")))
        if shipment is None:
            return JSONResponse({"message": "Invalid shipment id", "status_code": 400}, 400)
        if self.refuse_awb:
            # Shiprocket's quirk: a refusal inside an HTTP 200.
            return JSONResponse(
                {"awb_assign_status": 0, "response": {"data": {"awb_assign_error": "Courier not serviceable"}}}
            )
        courier_id = body.get("courier_id") or 10
        shipment["awb"] = f"1417{self.next_id():08d}"
        shipment["courier"] = "Delhivery Surface" if str(courier_id) == "10" else f"Courier {courier_id}"
        return JSONResponse(
            {
                "awb_assign_status": 1,
                "response": {
                    "data": {
                        "courier_company_id": courier_id,
                        "awb_code": shipment["awb"],
                        "courier_name": shipment["courier"],
                        "shipment_id": str(body.get("shipment_id")),
                        "order_id": shipment["order_id"],
                        "assigned_date_time": {"date": "2025-03-14 10:00:00.000000", "timezone_type": 3},
                    }
                },
            }
        )

    async def generate_label(self, request: Request) -> Response:
        body, early = await self._begin(request)
        if early is not None:
            return early
        ids = body.get("shipment_id") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids or str(ids[0]) not in self.shipments:
            return JSONResponse({"label_created": 0, "response": "Invalid shipment id", "not_created": ids or []})
        return JSONResponse(
            {
                "label_created": 1,
                "label_url": label_url("sr-labels", ids[0]),
                "response": "Label has been created and uploaded successfully!",
                "not_created": [],
            }
        )

    async def shipment(self, request: Request) -> Response:
        _body, early = await self._begin(request)
        if early is not None:
            return early
        shipment_id = request.path_params["shipment_id"]
        shipment = self.shipments.get(shipment_id)
        if shipment is None:
            return JSONResponse({"message": "Shipment not found", "status_code": 404}, 404)
        return JSONResponse(
            {
                "data": {
                    "id": int(shipment_id),
                    "order_id": shipment["order_id"],
                    "channel_order_id": shipment["body"].get("order_id"),
                    "awb": shipment["awb"],
                    "courier": shipment["courier"],
                }
            }
        )

    async def serviceability(self, request: Request) -> Response:
        _body, early = await self._begin(request)
        if early is not None:
            return early
        if self.mode == "refuse":
            return JSONResponse({"status": 404, "message": "Delivery postcode not serviceable"}, 404)
        return JSONResponse(
            {
                "status": 200,
                "data": {
                    "available_courier_companies": [
                        {"courier_company_id": 10, "courier_name": "Delhivery Surface", "rate": "85.00"},
                        {"courier_company_id": "24", "courier_name": "Xpressbees", "rate": 79.5},
                    ],
                    "recommended_courier_company_id": 24,
                },
            }
        )
