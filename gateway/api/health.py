"""``/healthz`` (process up), ``/readyz`` (store reachable and committing, workers running), ``/metrics``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.api.common import JSONResponse, problem
from gateway.logs import get_logger
from gateway.metrics import CONTENT_TYPE
from gateway.state import state_of

log = get_logger("gateway.health")


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
    # A full disk, a read-only filesystem or a stalled disk leave reads working: ask the
    # store whether it commits (its recent commits, else a probe write with a deadline).
    problem_text = await state.store.commits.check(state.store.probe_commit)
    if problem_text is not None:
        return problem(
            503, "Service unavailable", f"the store cannot commit: {problem_text}", headers={"retry-after": "5"}
        )
    if not state.ingestor.writer.running:
        return problem(503, "Service unavailable", "ingest writer is not running", headers={"retry-after": "5"})
    if state.dispatcher_expected and not state.dispatcher.running:
        return problem(503, "Service unavailable", "dispatcher is not running", headers={"retry-after": "5"})
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    state = state_of(request)
    try:
        endpoints = await state.store.endpoints()
        waiting = {(b.org, b.endpoint): b for b in await state.store.backlog()}
    except Exception as exc:  # the counters are still worth a scrape when the store is down
        log.warning("metrics.backlog_unavailable", error=repr(exc))
    else:
        rows: list[tuple[str, str, int, float | None]] = [
            (r.org, r.name, 0, None) for r in endpoints if (r.org, r.name) not in waiting
        ]
        rows += [(b.org, b.endpoint, b.count, b.oldest_at) for b in waiting.values()]
        state.metrics.set_backlog(rows, state.clock.now())
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)
