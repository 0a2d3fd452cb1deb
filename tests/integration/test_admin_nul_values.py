"""Admin routes on each backend: a NUL or another control character in a path segment or a
query value is a 4xx, the same on SQLite and PostgreSQL (whose text type refuses NUL), never
a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from pgsupport import create_database, drop_database, dsn, new_name, require_postgres, run_sync
from support import Gateway

from gateway.store.postgres import PostgresStore

ADMIN = {"authorization": "Bearer dev-admin-token"}


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    require_postgres()
    name = new_name("gw_admin_nul")
    run_sync(lambda: create_database(name))
    try:
        yield name
    finally:
        run_sync(lambda: drop_database(name))


@pytest.fixture(params=["sqlite", "postgres"])
async def gw(request: pytest.FixtureRequest, gateway_factory: Callable[..., Any]) -> AsyncIterator[Gateway]:
    overrides: dict[str, Any] = {}
    if request.param == "postgres":
        overrides["store"] = PostgresStore(dsn(request.getfixturevalue("pg_database")), max_size=2)
    async with gateway_factory(**overrides) as gateway:
        yield gateway


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/v1/admin/notifications/evt_%00x"),
        ("GET", "/v1/admin/notifications?awb=A%00B"),
        ("GET", "/v1/admin/notifications?org=ac%00me"),
        ("GET", "/v1/admin/deliveries?endpoint=a%00b"),
        ("GET", "/v1/admin/deliveries?org=ac%00me"),
        ("GET", "/v1/admin/endpoints?org=ac%00me"),
        ("POST", "/v1/admin/endpoints/acme/al%00l/disable"),
        ("POST", "/v1/admin/endpoints/acme/al%00l/enable"),
        ("POST", "/v1/admin/endpoints/ac%00me/all/disable"),
        ("DELETE", "/v1/admin/endpoints/acme/ap%00i"),
    ],
)
async def test_a_nul_in_an_admin_path_or_query_is_a_4xx_on_both_backends(gw: Gateway, method: str, url: str) -> None:
    response = await gw.client.request(method, url, headers=ADMIN)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
