"""``/v1/admin/endpoints`` (list with health, PUT, DELETE) and ``POST /v1/admin/reload``.

Endpoints declared in a routes file are owned by the file: the API reads them, disables
and enables them, but ``PUT``/``DELETE`` on them answer 409 (SPEC §4). Nothing here ever
shows a secret or a header value: items carry header *names* and whether pushes are signed,
and the URL without credentials or query string.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api.admin import ADMIN_BODY_LIMIT, query, require_admin
from gateway.api.common import JSONResponse, field_errors, parse_json, read_body
from gateway.api.schemas import EndpointsQuery
from gateway.errors import Conflict, NotFound, Unprocessable
from gateway.logs import get_logger
from gateway.reload import refresh_scrubber, reload_routes
from gateway.routing import EndpointConfig
from gateway.state import AppState
from gateway.store.admin_types import EndpointWrite
from gateway.store.base import EndpointRecord

log = get_logger("gateway.admin")

#: ``successRate`` is the share of 2xx among the attempts of this recent window.
HEALTH_WINDOW_SECONDS = 24 * 3600.0


def display_url(url: str) -> str:
    """The URL without userinfo or query string, either of which may carry a credential."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "[redacted]" if parts.query else "", ""))


async def endpoint_items(state: AppState, org: str | None = None, name: str | None = None) -> list[dict[str, Any]]:
    """Every live endpoint (of ``org``; named ``name``) with its health, by org and name."""
    now = state.clock.now()
    records = [
        r for r in await state.store.endpoints() if (org is None or r.org == org) and (name is None or r.name == name)
    ]
    backlog = {(b.org, b.endpoint): b for b in await state.store.backlog()}
    stats = {(s.org, s.endpoint): s for s in await state.store.attempt_stats(now - HEALTH_WINDOW_SECONDS)}
    items = []
    for r in records:
        waiting = backlog.get((r.org, r.name))
        attempts = stats.get((r.org, r.name))
        items.append(
            {
                **_config_json(r),
                "disabled": r.disabled,
                "disabledReason": r.disabled_reason,
                "successRate": round(attempts.successes / attempts.attempts, 4) if attempts else None,
                "lastError": r.last_error,
                "backlog": waiting.count if waiting else 0,
                "oldestPendingAgeSeconds": round(max(now - waiting.oldest_at, 0.0), 3) if waiting else None,
            }
        )
    return items


def _config_json(r: EndpointRecord) -> dict[str, Any]:
    c = r.config
    return {
        "org": r.org,
        "name": r.name,
        "url": display_url(c.url),
        "owner": r.owner,
        "types": list(c.types),
        "shipmentTypes": [t.value for t in c.shipment_types],
        "headerNames": sorted(c.headers),
        "signed": bool(c.secret),
        "ordered": c.ordered,
        "includeStale": c.include_stale,
        "maxInFlight": c.max_in_flight,
        "ratePerSecond": c.rate_per_second,
    }


async def list_endpoints(request: Request) -> Response:
    state = require_admin(request)
    q = query(request, EndpointsQuery)
    items = await endpoint_items(state, q.org or None)
    # Endpoints are few: the cursor is an offset into the (org, name) order.
    start, limit = q.cursor or 0, q.limit
    page = items[start : start + limit]
    next_cursor = str(start + limit) if start + limit < len(items) else None
    return JSONResponse({"items": page, "next": next_cursor})


async def _parse_endpoint(request: Request, name: str) -> EndpointConfig:
    body = parse_json(await read_body(request, ADMIN_BODY_LIMIT))
    if not isinstance(body, dict):
        raise Unprocessable("the body must be a JSON object with the fields of a routes file's [[endpoints]]")
    if "name" in body and body["name"] != name:
        raise Unprocessable("name differs from the path", errors=[{"field": "name", "message": "must equal the path"}])
    try:
        return EndpointConfig.model_validate({**body, "name": name})
    except ValidationError as exc:
        raise Unprocessable("invalid endpoint", errors=field_errors(exc)) from None


async def put_endpoint(request: Request) -> Response:
    state = require_admin(request)
    org, name = request.path_params["org"], request.path_params["name"]
    routes = state.routes.get(org)
    if routes is None:
        raise NotFound(f"unknown org {org!r}")
    config = await _parse_endpoint(request, name)
    outcome = await state.store.put_endpoint(org, config)
    if outcome is EndpointWrite.FILE_OWNED:
        raise Conflict(
            f"endpoint {name!r} is declared in {state.routes.files.get(org)}; change it there and POST /v1/admin/reload"
        )
    await refresh_scrubber(state)
    await state.endpoints_changed()
    log.info("endpoint.created" if outcome is EndpointWrite.CREATED else "endpoint.replaced", org=org, endpoint=name)
    items = await endpoint_items(state, org, name)
    return JSONResponse(items[0], status_code=201 if outcome is EndpointWrite.CREATED else 200)


async def delete_endpoint(request: Request) -> Response:
    state = require_admin(request)
    org, name = request.path_params["org"], request.path_params["name"]
    outcome, failed = await state.store.delete_endpoint(org, name, state.clock.now())
    if outcome is EndpointWrite.NOT_FOUND:
        raise NotFound(f"no endpoint {name!r} in org {org!r}")
    if outcome is EndpointWrite.FILE_OWNED:
        raise Conflict(
            f"endpoint {name!r} is declared in {state.routes.files.get(org)}; remove it there and POST /v1/admin/reload"
        )
    await state.endpoints_changed()
    log.info("endpoint.deleted", org=org, endpoint=name, failed_deliveries=failed)
    return JSONResponse({"org": org, "name": name, "deleted": True, "failedDeliveries": failed})


async def endpoint(request: Request) -> Response:
    # One route for both methods: a 405 on this path then names PUT and DELETE in ``Allow``
    # (two routes would each answer for themselves, the first naming only its own method).
    if request.method == "PUT":
        return await put_endpoint(request)
    return await delete_endpoint(request)


async def reload(request: Request) -> Response:
    state = require_admin(request)
    routes = await reload_routes(state)
    return JSONResponse(
        {
            "reloaded": True,
            "orgs": sorted(routes.orgs),
            "fileEndpoints": sum(len(r.endpoints) for r in routes),
        }
    )


ROUTES = [
    Route("/v1/admin/endpoints", list_endpoints, methods=["GET"]),
    Route("/v1/admin/endpoints/{org}/{name}", endpoint, methods=["PUT", "DELETE"]),
    Route("/v1/admin/reload", reload, methods=["POST"]),
]
