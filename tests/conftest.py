"""Shared fixtures: a test org pair, a real SQLite store on a temp file, the real app."""

from __future__ import annotations

import contextlib
import importlib.util
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from sinks import Sink, SinkFactory
from support import ACME_ROUTES, BETA_ROUTES, NETGUARD, Gateway

from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.routing import RouteTable, load_routes
from gateway.settings import Settings, load_settings

# The in-process half of the DNS guard (processes the tests start load it via PYTHONPATH).
_spec = importlib.util.spec_from_file_location("netguard", NETGUARD / "sitecustomize.py")
assert _spec is not None and _spec.loader is not None
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))


@pytest.fixture
def routes_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "routes"
    directory.mkdir()
    (directory / "acme.toml").write_text(ACME_ROUTES)
    (directory / "beta.toml").write_text(BETA_ROUTES)
    return directory


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # In-process tests store webhooks from the writer thread: a writer process costs
    # 0.25 s to start, per test. The child is covered by tests/integration/
    # test_writer_process.py, the ingest contract tests and every test of `gateway serve`.
    env = {"GATEWAY_STORE_URL": f"sqlite:///{tmp_path / 'gateway.db'}", "GATEWAY_STORE_WRITER_PROCESS": "false"}
    return load_settings(None, env)


@pytest.fixture
def route_table(routes_dir: Path) -> RouteTable:
    return load_routes(routes_dir, env={})


@pytest.fixture
def clock() -> ManualClock:
    # Start at the real time: receivers check webhook-timestamp against their own clock.
    return ManualClock(float(int(time.time())))


@pytest.fixture
def gateway_factory(settings: Settings, route_table: RouteTable, clock: ManualClock) -> Callable[..., Any]:
    @contextlib.asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[Gateway]:
        app = create_app(
            overrides.pop("settings", settings),
            overrides.pop("routes", route_table),
            clock=overrides.pop("clock", clock),
            run_dispatcher=overrides.pop("run_dispatcher", False),
            **overrides,
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
                yield Gateway(app, client)

    return make


@pytest.fixture
async def gateway(gateway_factory: Callable[..., Any]) -> AsyncIterator[Gateway]:
    async with gateway_factory() as gw:
        yield gw


@pytest.fixture
async def make_sink() -> AsyncIterator[SinkFactory]:
    runners: list[web.AppRunner] = []

    async def start() -> Sink:
        sink = Sink()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", sink.handle)
        # handler_cancellation: a hanging handler ends when the client gives up, so
        # cleanup never waits for it.
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        sink.port = runner.addresses[0][1]
        return sink

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def sink(make_sink: SinkFactory) -> Sink:
    return await make_sink()
