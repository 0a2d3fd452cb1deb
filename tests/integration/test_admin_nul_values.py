"""Admin routes on each backend: a NUL or another control character in a path segment or a
query value is a 4xx, the same on SQLite and PostgreSQL (whose text type refuses NUL), never
a 500."""

from __future__ import annotations

import pytest
from support import Gateway

ADMIN = {"authorization": "Bearer dev-admin-token"}


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
