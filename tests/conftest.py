"""Shared fixtures: a test org pair, a real SQLite store on a temp file, the real app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import ACME_ROUTES, BETA_ROUTES, Gateway

from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.routing import RouteTable, load_routes
from gateway.settings import Settings, load_settings


@pytest.fixture
def routes_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "routes"
    directory.mkdir()
    (directory / "acme.toml").write_text(ACME_ROUTES)
    (directory / "beta.toml").write_text(BETA_ROUTES)
    return directory


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(None, {"GATEWAY_STORE_URL": f"sqlite:///{tmp_path / 'gateway.db'}"})


@pytest.fixture
def route_table(routes_dir: Path) -> RouteTable:
    return load_routes(routes_dir, env={})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def gateway_factory(settings: Settings, route_table: RouteTable, clock: ManualClock) -> Callable[..., Any]:
    @contextlib.asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[Gateway]:
        app = create_app(
            overrides.pop("settings", settings),
            overrides.pop("routes", route_table),
            clock=overrides.pop("clock", clock),
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
