"""Fixtures for integration tests that run the real app on each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from pgsupport import create_database, drop_database, dsn, new_name, require_postgres, run_sync
from support import Gateway

from gateway.store.postgres import PostgresStore


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """One PostgreSQL database for the module: its tests use values of their own."""
    require_postgres()
    name = new_name("gw_both")
    run_sync(lambda: create_database(name))
    try:
        yield name
    finally:
        run_sync(lambda: drop_database(name))


@pytest.fixture(params=["sqlite", "postgres"])
async def gw(request: pytest.FixtureRequest, gateway_factory: Callable[..., Any]) -> AsyncIterator[Gateway]:
    """The real app on SQLite, then on the real PostgreSQL."""
    overrides: dict[str, Any] = {}
    if request.param == "postgres":
        overrides["store"] = PostgresStore(dsn(request.getfixturevalue("pg_database")), max_size=2)
    async with gateway_factory(**overrides) as gateway:
        yield gateway
