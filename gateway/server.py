"""Running the app under uvicorn (httptools behind ``gateway.edge``, uvloop) with a clean SIGTERM exit."""

from __future__ import annotations

import contextlib
import gc
import socket
from collections.abc import Generator

import uvicorn
from starlette.applications import Starlette

from gateway.edge import EdgeLimits, EdgeProtocol
from gateway.settings import ServerSettings

#: Young-generation collections every this many allocations (CPython's default is 700).
GC_GEN0_THRESHOLD = 20_000


class GatewayServer(uvicorn.Server):
    """uvicorn ≥ 0.29 re-raises the captured SIGTERM after a graceful shutdown, which
    turns a clean stop into exit status 143. A gateway that drained properly exits 0."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # Everything built at start-up lives as long as the process: frozen, no collection
        # walks it again; a larger young generation collects less often
        # (docs/decisions/0008-gc-freeze.md).
        gc.collect()
        gc.freeze()
        gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def edge_limits(server: ServerSettings) -> EdgeLimits:
    return EdgeLimits(
        max_header_bytes=server.max_header_bytes,
        max_headers=server.max_headers,
        header_timeout=server.header_timeout,
        body_timeout=server.body_timeout,
        max_requests_in_progress=server.max_requests_in_progress,
    )


def run(
    app: Starlette,
    *,
    host: str,
    port: int,
    limits: EdgeLimits | None = None,
    graceful_timeout: int = 30,
    sockets: list[socket.socket] | None = None,
) -> None:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        # httptools' parser and request cycle, behind the edge's limits (gateway.edge).
        http=EdgeProtocol.with_limits(limits or EdgeLimits()),
        ws="none",
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=graceful_timeout,
        timeout_keep_alive=30,
    )
    GatewayServer(config).run(sockets=sockets)
