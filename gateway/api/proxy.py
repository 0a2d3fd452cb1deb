"""The aggregator proxy's routes (SPEC §8), behind the org's API keys.

Order of checks: unknown org (404), body size (413), API key (401), JSON (400), shape
(422 naming the fields). Success is 200, replays included (``idempotent-replayed: true``).
"""

from __future__ import annotations

from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api.common import JSONResponse, M, parse_json, read_body, require_api_key, validate_body
from gateway.api.proxy_models import CourierRequest, LabelRequest, ReturnAwbRequest
from gateway.errors import NotFound
from gateway.field_limits import IDENTIFIER
from gateway.proxy import service
from gateway.routing import OrgRoutes
from gateway.state import AppState, state_of

REPLAYED = "idempotent-replayed"


def _authorized(request: Request) -> tuple[AppState, str, OrgRoutes]:
    state = state_of(request)
    org = request.path_params["org"]
    structlog.contextvars.bind_contextvars(org=org)
    routes = state.routes.get(org)
    if routes is None:
        raise NotFound(f"unknown org {org!r}")
    return state, org, routes


async def _body(request: Request, model: type[M]) -> tuple[AppState, str, M]:
    state, org, routes = _authorized(request)
    raw = await read_body(request, state.settings.inbound.max_body_bytes)
    require_api_key(request, routes)
    return state, org, validate_body(model, parse_json(raw))


def _answer(result: dict[str, Any], replayed: bool) -> Response:
    return JSONResponse(result, headers={REPLAYED: "true"} if replayed else None)


async def courier_recommendation(request: Request) -> Response:
    state, org, body = await _body(request, CourierRequest)
    return JSONResponse(await service.recommend(state, org, body))


async def create_order(request: Request) -> Response:
    state, org, body = await _body(request, LabelRequest)
    return _answer(*await service.create_order(state, org, body, account_alias=body.accountAlias))


async def generate_label(request: Request) -> Response:
    state, org, body = await _body(request, LabelRequest)
    return _answer(*await service.generate_label(state, org, body, account_alias=body.accountAlias))


async def generate_return_awb(request: Request) -> Response:
    state, org, body = await _body(request, ReturnAwbRequest)
    return _answer(*await service.generate_return_awb(state, org, body, account_alias=body.accountAlias))


async def _lookup(request: Request, kind: str) -> Response:
    state, org, routes = _authorized(request)
    require_api_key(request, routes)
    alias = request.query_params.get("accountAlias") or None
    order_id = request.path_params["orderId"]
    if not IDENTIFIER.fits(order_id):
        # No label was stored under it, nor could an aggregator have one (PostgreSQL refuses U+0000).
        raise NotFound(f"no {kind.replace('_', ' ')} for that orderId: {IDENTIFIER.rule}")
    return JSONResponse(await service.lookup(state, org, kind, order_id, account_alias=alias))


async def get_label(request: Request) -> Response:
    return await _lookup(request, service.LABEL)


async def get_return_awb(request: Request) -> Response:
    return await _lookup(request, service.RETURN_AWB)


ROUTES = [
    Route("/v1/{org}/couriers/recommendation", courier_recommendation, methods=["POST"]),
    Route("/v1/{org}/orders", create_order, methods=["POST"]),
    Route("/v1/{org}/labels", generate_label, methods=["POST"]),
    Route("/v1/{org}/labels/{orderId}", get_label, methods=["GET"]),
    Route("/v1/{org}/return-awbs", generate_return_awb, methods=["POST"]),
    Route("/v1/{org}/return-awbs/{orderId}", get_return_awb, methods=["GET"]),
]
