"""The bare reference endpoint for the ingest bench: Starlette, ``POST /hook`` reads the body,
parses it with orjson and answers 200 ``{}`` without storing anything.

Run it the way the gateway runs (see ``gateway/server.py``)::

    .venv/bin/python -m uvicorn --app-dir tests/bench bare_app:app --host 127.0.0.1 --port 8011 \\
        --loop uvloop --http httptools --no-access-log --no-server-header --no-proxy-headers \\
        --timeout-keep-alive 30 --log-level warning

``BENCH_PROFILE=/path/out.prof`` profiles this server with cProfile from start-up to shutdown
and writes the stats there (for comparing its request path with the gateway's).
"""

from __future__ import annotations

import contextlib
import cProfile
import os
from collections.abc import AsyncIterator

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def hook(request: Request) -> Response:
    body = await request.body()
    orjson.loads(body)
    return Response(b"{}", status_code=200, media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    out = os.environ.get("BENCH_PROFILE")
    if not out:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        profiler.dump_stats(out)


app = Starlette(routes=[Route("/hook", hook, methods=["POST"])], lifespan=lifespan)
