"""``POST /v1/{org}/webhooks/{source}``: authenticate, parse, store, acknowledge.

Order of checks for a known org (SPEC §5): body size (413), credentials (401, whatever
the body), parsing (400), validation (422). Shipway's secret is inside the body, so a
Shipway request without ``?key=`` is parsed before its credential is checked.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import Response

from gateway.api.common import JSONResponse, parse_json, read_body
from gateway.errors import NotFound, ProblemError, Unauthorized
from gateway.inbound import auth
from gateway.inbound.parsers import PARSERS
from gateway.inbound.payloads import shape_deviations
from gateway.logs import get_logger
from gateway.models import Source
from gateway.returns import record_clickpost_returns
from gateway.state import state_of

log = get_logger("gateway.webhooks")


def _source(name: str) -> Source:
    try:
        source = Source(name)
    except ValueError:
        raise NotFound(f"unknown webhook source {name!r}") from None
    if source not in PARSERS:
        raise NotFound(f"unknown webhook source {name!r}")
    return source


def _authenticate(request: Request, source: Source, body: Any, routes_sources: Any) -> None:
    # Most aggregators send no query string: skip building QueryParams for them.
    key = request.query_params.get("key") if request.scope["query_string"] else None
    if auth.verify_query_key(source, routes_sources, key):
        return
    if source is Source.SHIPWAY:
        ok = auth.verify_shipway_body(routes_sources, body)
    else:
        ok = auth.verify_headers(source, routes_sources, request.headers)
    if not ok:
        raise Unauthorized(f"missing or invalid {source.value} credentials")


async def receive_webhook(request: Request) -> Response:
    started = time.perf_counter()
    state = state_of(request)
    org = request.path_params["org"]
    structlog.contextvars.bind_contextvars(org=org, source=request.path_params["source"])
    try:
        routes = state.routes.get(org)
        if routes is None:
            raise NotFound(f"unknown org {org!r}")
        source = _source(request.path_params["source"])
        raw = await read_body(request, state.settings.inbound.max_body_bytes)
        needs_body_first = source is Source.SHIPWAY and (
            not request.scope["query_string"] or "key" not in request.query_params
        )
        if needs_body_first:
            body = parse_json(raw)
            _authenticate(request, source, body, routes.sources)
        else:
            _authenticate(request, source, None, routes.sources)
            body = parse_json(raw)
        if state.settings.log.level == "debug":
            # Not an error (the parser decides): a hint that an aggregator changed its format.
            # Validating costs more than the parse itself, so only when someone will read it.
            deviations = shape_deviations(source, body)
            if deviations:
                log.debug("webhook.unexpected_shape", fields=deviations[:20])
        result = PARSERS[source](body)
    except ProblemError as exc:
        log.info("webhook.rejected", status_code=exc.status, reason=exc.detail)
        # Labels only from known values: made-up orgs and sources must not grow the series.
        source_name = request.path_params["source"]
        state.metrics.rejected(
            org if state.routes.get(org) is not None else "(unknown)",
            source_name if source_name in {s.value for s in PARSERS} else "(unknown)",
        )
        raise
    if result.ping:
        log.info("webhook.test_ping")
        return JSONResponse({"accepted": 0, "duplicates": 0, "eventIds": []})

    ingested = await state.ingestor.ingest(org, result.events)
    for event, outcome in zip(result.events, ingested.outcomes, strict=True):
        awb = event.awb or event.return_awb or event.forward_awb
        if outcome.duplicate:
            log.info("webhook.duplicate", awb=awb, event_id=outcome.event_id)
        else:
            log.info(
                "webhook.accepted",
                awb=awb,
                event_id=outcome.event_id,
                notification_type=event.notification_type.value,
                shipment_type=event.shipment_type.value,
                stale=outcome.stale,
                deliveries=outcome.deliveries,
            )
    if source is Source.CLICKPOST:
        await record_clickpost_returns(state, org, result.events, ingested.outcomes)
    state.metrics.webhooks(org, source.value, ingested.accepted, ingested.duplicates)
    state.metrics.ingested(source.value, time.perf_counter() - started)
    state.notify_new_work()
    return JSONResponse(ingested.body())
