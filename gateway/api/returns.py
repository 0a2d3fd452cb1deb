"""``POST /v1/{org}/returns`` and ``POST /v1/{org}/returns/{code}/processing-update``.

Order of checks (SPEC §5): unknown org (404), body size (413), API key (401, whatever the
body), JSON (400), then the unknown return (404) and the shape (422).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.api.common import JSONResponse, parse_json, read_body, require_api_key, validate_body
from gateway.api.returns_models import CreateReturnOrder, ProcessingUpdate
from gateway.errors import NotFound, Unprocessable
from gateway.field_limits import IDENTIFIER
from gateway.returns import accept_processing_update, create_return, qc_summary, return_json
from gateway.state import state_of


async def post_return(request: Request) -> Response:
    state = state_of(request)
    org = request.path_params["org"]
    routes = state.routes.get(org)
    if routes is None:
        raise NotFound(f"unknown org {org!r}")
    raw = await read_body(request, state.settings.inbound.max_body_bytes)
    key = require_api_key(request, routes)
    body = validate_body(CreateReturnOrder, parse_json(raw))
    system = key.returns_system or body.returnsSystem
    record, new = await create_return(state, org, body, system, state.return_awb_generator)
    return JSONResponse(return_json(record), status_code=201 if new else 200)


async def post_processing_update(request: Request) -> Response:
    state = state_of(request)
    org, code = request.path_params["org"], request.path_params["code"]
    routes = state.routes.get(org)
    if routes is None:
        raise NotFound(f"unknown org {org!r}")
    raw = await read_body(request, state.settings.inbound.max_body_bytes)
    require_api_key(request, routes)
    body = parse_json(raw)
    # A code over the identifier limit names no stored return (and PostgreSQL refuses U+0000).
    record = await state.store.get_return(org, code) if IDENTIFIER.fits(code) else None
    if record is None:
        raise NotFound(f"no return {code!r} in org {org!r}")
    update = validate_body(ProcessingUpdate, body)
    if update.returnOrderCode is not None and update.returnOrderCode != code:
        raise Unprocessable(
            "returnOrderCode in the body differs from the one in the path",
            errors=[{"field": "returnOrderCode", "message": "must equal the path's code"}],
        )
    webhook_id, delivery_id = await accept_processing_update(state, org, record, update)
    return JSONResponse(
        {
            "returnOrderCode": code,
            "returnsSystem": record.returns_system,
            "webhookId": webhook_id,
            "deliveryId": delivery_id,
            "qcStatus": qc_summary(update),
        },
        status_code=202,
    )
