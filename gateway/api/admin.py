"""``/v1/admin/...``: operating deliveries and endpoints (SPEC §11), behind the admin token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api.common import JSONResponse, bearer_token, field_errors, parse_json, read_body, validate_body
from gateway.api.schemas import MAX_ID, DeliveriesQuery, IsoTime
from gateway.api.shipments import iso
from gateway.errors import BadRequest, Conflict, NotFound, Unauthorized
from gateway.logs import get_logger
from gateway.secret_match import matches_any
from gateway.state import AppState, state_of
from gateway.store.base import DeliveryView

log = get_logger("gateway.admin")

ADMIN_BODY_LIMIT = 64 * 1024
Q = TypeVar("Q", bound=BaseModel)


def require_admin(request: Request) -> AppState:
    state = state_of(request)
    if not matches_any(bearer_token(request), [state.settings.admin.token]):
        raise Unauthorized("missing or invalid admin token (Authorization: Bearer <token>)")
    return state


def query(request: Request, model: type[Q]) -> Q:
    """The query string as ``model`` (the one ``/openapi.json`` publishes); a 400 naming each
    wrong parameter. Parameters the model does not name are ignored."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise BadRequest("invalid query parameters", errors=field_errors(exc)) from None


def delivery_json(d: DeliveryView) -> dict[str, Any]:
    return {
        "id": d.id,
        "eventId": d.event_id,
        "org": d.org,
        "endpoint": d.endpoint,
        "state": d.state,
        "attemptCount": d.attempt_count,
        "nextAttemptAt": iso(d.next_attempt_at) if d.state in ("pending", "parked") else None,
        "lastStatusCode": d.last_status,
        "lastError": d.last_error,
    }


async def list_deliveries(request: Request) -> Response:
    state = require_admin(request)
    q = query(request, DeliveriesQuery)
    items = await state.store.deliveries(
        org=q.org,
        endpoint=q.endpoint,
        state=q.state,
        after_id=q.cursor or 0,
        limit=q.limit + 1,  # one more tells whether there is a next page
    )
    next_cursor = str(items[q.limit - 1].id) if len(items) > q.limit else None
    items = items[: q.limit]
    return JSONResponse({"items": [delivery_json(d) for d in items], "next": next_cursor})


async def retry_delivery(request: Request) -> Response:
    state = require_admin(request)
    try:
        delivery_id = int(request.path_params["id"])
    except ValueError:
        raise NotFound("no such delivery") from None
    if not 1 <= delivery_id <= MAX_ID:
        raise NotFound(f"no delivery {delivery_id}")
    view = await state.store.retry_delivery(delivery_id, state.clock.now())
    if view is None:
        existing = await state.store.deliveries(org=None, endpoint=None, state=None, after_id=delivery_id - 1, limit=1)
        if not existing or existing[0].id != delivery_id:
            raise NotFound(f"no delivery {delivery_id}")
        raise Conflict(f"delivery {delivery_id} is {existing[0].state}; only failed deliveries are retried")
    log.info("delivery.requeued", delivery_id=delivery_id, event_id=view.event_id, endpoint=view.endpoint)
    state.notify_new_work()
    return JSONResponse(delivery_json(view))


class RecoverWindow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    since: IsoTime
    until: IsoTime | None = None


async def _endpoint_exists(state: AppState, org: str, name: str) -> None:
    if not any(r.org == org and r.name == name for r in await state.store.endpoints()):
        raise NotFound(f"no endpoint {name!r} in org {org!r}")


def utc_epoch(moment: datetime) -> float:
    """Epoch seconds of an admin API time; without a zone it is UTC, not the host's local time."""
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


async def recover_endpoint(request: Request) -> Response:
    state = require_admin(request)
    org, name = request.path_params["org"], request.path_params["name"]
    await _endpoint_exists(state, org, name)
    body = parse_json(await read_body(request, ADMIN_BODY_LIMIT))
    window = validate_body(RecoverWindow, body, "invalid recover window")
    since = utc_epoch(window.since)
    until = utc_epoch(window.until) if window.until is not None else state.clock.now() + 1
    count = await state.store.recover(org, name, since, until, state.clock.now())
    log.info("endpoint.recovered", org=org, endpoint=name, requeued=count)
    state.notify_new_work()
    return JSONResponse({"org": org, "name": name, "requeued": count})


async def _set_disabled(request: Request, disabled: bool) -> Response:
    state = require_admin(request)
    org, name = request.path_params["org"], request.path_params["name"]
    found = await state.store.set_disabled(org, name, disabled, "disabled by an operator", state.clock.now())
    if not found:
        raise NotFound(f"no endpoint {name!r} in org {org!r}")
    log.info("endpoint.disabled" if disabled else "endpoint.enabled", org=org, endpoint=name, by="admin")
    await state.endpoints_changed()
    state.notify_new_work()
    return JSONResponse({"org": org, "name": name, "disabled": disabled})


async def disable_endpoint(request: Request) -> Response:
    return await _set_disabled(request, True)


async def enable_endpoint(request: Request) -> Response:
    return await _set_disabled(request, False)


ROUTES = [
    Route("/v1/admin/deliveries", list_deliveries, methods=["GET"]),
    Route("/v1/admin/deliveries/{id}/retry", retry_delivery, methods=["POST"]),
    Route("/v1/admin/endpoints/{org}/{name}/recover", recover_endpoint, methods=["POST"]),
    Route("/v1/admin/endpoints/{org}/{name}/disable", disable_endpoint, methods=["POST"]),
    Route("/v1/admin/endpoints/{org}/{name}/enable", enable_endpoint, methods=["POST"]),
]
