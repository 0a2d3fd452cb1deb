"""A fake of ClickPost's API (research/domain.md §3.1–§3.2; zupta/slate ``_recommend.md``):
``username`` and ``key`` as query parameters, create-order v3 (``delivery_type: "RVP"``
needs ``rvp_reason`` and gets no label), fetch shipping label, recommendation.

Its quirk: HTTP 200 always, failure told by ``meta`` (whose ``status`` may be a string).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .base import FakeAggregator, label_url

USERNAME = "acme-cp"
KEY = "cp-api-key-0001"


def _meta(status: int | str, success: bool, message: str) -> dict[str, Any]:
    return {"status": status, "success": success, "message": message}


@dataclass
class FakeClickpost(FakeAggregator):
    username: str = USERNAME
    key: str = KEY
    waybills: dict[str, dict[str, Any]] = field(default_factory=dict)

    def routes(self) -> list[Route]:
        return [
            Route("/api/v3/create-order/", self.create_order, methods=["POST"]),
            Route("/api/v1/fetch/shippinglabel/", self.shipping_label, methods=["GET"]),
            Route("/api/v1/recommendation_api/", self.recommend, methods=["POST"]),
        ]

    async def _begin(self, request: Request) -> tuple[Any, Response | None]:
        call, early = await self.record(request)
        if early is None and (call.query.get("key") != self.key or call.query.get("username") != self.username):
            early = JSONResponse({"meta": _meta(401, False, "Invalid username or key"), "result": None})
        elif early is None and self.mode == "refuse":
            early = JSONResponse({"meta": _meta("400", False, "Drop pincode is not serviceable"), "result": None})
        return call.body, early

    async def create_order(self, request: Request) -> Response:
        body, early = await self._begin(request)
        if early is not None:
            return early
        body = body if isinstance(body, dict) else {}
        details = body.get("shipment_details") or {}
        additional = body.get("additional") or {}
        missing = [k for k in ("pickup_info", "drop_info", "shipment_details") if not body.get(k)]
        if missing or not details.get("reference_number"):
            return JSONResponse({"meta": _meta(400, False, f"missing {missing or 'reference_number'}"), "result": None})
        rvp = additional.get("delivery_type") == "RVP"
        if rvp and not additional.get("rvp_reason"):
            return JSONResponse({"meta": _meta(400, False, "rvp_reason is required for RVP"), "result": None})
        waybill = f"{7700000000 + self.next_id()}"
        result: dict[str, Any] = {
            "waybill": waybill,
            "reference_number": details["reference_number"],
            "security_key": "b1c2d3e4",
            "sort_code": "DEL/ABC",
            "courier_partner_id": details.get("courier_partner", 4),
            "courier_name": "Delhivery",
        }
        if not rvp and additional.get("label"):
            result["label"] = label_url("cp-labels", waybill)
        self.waybills[waybill] = result
        return JSONResponse({"meta": _meta(200, True, "SUCCESS"), "result": result})

    async def shipping_label(self, request: Request) -> Response:
        _body, early = await self._begin(request)
        if early is not None:
            return early
        waybill = request.query_params.get("waybill", "")
        if waybill not in self.waybills:
            return JSONResponse({"meta": _meta(400, False, "Waybill not found"), "result": None})
        return JSONResponse(
            {"meta": _meta(200, True, "SUCCESS"), "result": {"shipping_label": label_url("cp-labels", waybill)}}
        )

    async def recommend(self, request: Request) -> Response:
        body, early = await self._begin(request)
        if early is not None:
            return early
        asks = body if isinstance(body, list) else []
        result = [
            {
                "pincode_serviceable": True,
                "request_details": ask,
                "preference_array": [
                    {"cp_name": "Bluedart", "cp_id": 5, "priority": 2},
                    {"cp_name": "Fedex", "cp_id": 1, "priority": 1},
                ],
            }
            for ask in asks
        ]
        return JSONResponse({"meta": _meta(200, True, "SUCCESS"), "result": result})
