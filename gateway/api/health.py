"""``/healthz`` (process up), ``/readyz`` (store reachable, workers running), ``/metrics``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.api.common import JSONResponse, problem
from gateway.metrics import CONTENT_TYPE
from gateway.state import state_of


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    state = state_of(request)
    try:
        await state.store.ping()
    except Exception as exc:
        return problem(
            503, "Service unavailable", f"store unreachable: {type(exc).__name__}", headers={"retry-after": "5"}
        )
    if not state.ingestor.writer.running:
        return problem(503, "Service unavailable", "ingest writer is not running", headers={"retry-after": "5"})
    if state.dispatcher_expected and not state.dispatcher.running:
        return problem(503, "Service unavailable", "dispatcher is not running", headers={"retry-after": "5"})
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    return Response(state_of(request).metrics.render(), media_type=CONTENT_TYPE)
