"""SPEC §5/§6/§9/§11 edges of the HTTP surface: order of checks, inputs that must not reach
the store as a 5xx, and admin inputs that must not break delivery for everyone."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support import CREDENTIALS, Gateway

ADMIN = {"authorization": "Bearer dev-admin-token"}
API = CREDENTIALS["acme"]["api"]
BIG = b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'
QC_ITEM = {"itemCode": "I-1", "channelSkuCode": "SKU-1", "qcStatus": "PASS"}


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"] and problem["type"]
    return problem


@pytest.mark.parametrize("path", ["/v1/acme/returns", "/v1/acme/returns/R-1/processing-update"])
async def test_returns_routes_check_size_then_credentials_then_parsing(gateway: Gateway, path: str) -> None:
    # SPEC §5: for a known org, 413 comes before 401, and 401 whatever the body.
    for headers in ({}, {"authorization": "Bearer wrong-key-0001"}, API):
        assert_problem(await gateway.client.post(path, content=BIG, headers=headers), 413)
    for headers in ({}, {"authorization": "Bearer wrong-key-0001"}):
        assert_problem(await gateway.client.post(path, content=b"{oops", headers=headers), 401)
    assert_problem(await gateway.client.post(path, content=b"{oops", headers=API), 400)


async def test_processing_update_ignores_fields_it_does_not_read(gateway: Gateway) -> None:
    # Tolerant reader: a WMS adding a field (Increff's sibling /usp/return carries more)
    # must not have its QC result refused; unknown fields are not forwarded either.
    created = await gateway.client.post(
        "/v1/acme/returns",
        json={
            "returnOrderCode": "R-EXTRA",
            "forwardOrderCode": "F-1",
            "awbNumber": "RA-EXTRA",
            "returnsSystem": "returns_prime",
            "orderItems": [{"itemCode": "I-1"}],
        },
        headers=API,
    )
    assert created.status_code == 201
    body = {"locationCode": "WH-1", "channelName": "SHOPIFY", "orderItems": [{**QC_ITEM, "quantity": 1}]}
    response = await gateway.client.post("/v1/acme/returns/R-EXTRA/processing-update", json=body, headers=API)
    # acme has no [returns_systems.returns_prime]: past validation, the answer names that.
    problem = assert_problem(response, 422)
    assert "returns_systems" in problem["detail"] and "errors" not in problem


@pytest.mark.parametrize(
    "path",
    [
        "/v1/admin/deliveries?cursor=" + "9" * 30,
        "/v1/admin/deliveries?cursor=9223372036854775808",
        "/v1/admin/notifications?cursor=" + "9" * 30,
    ],
)
async def test_a_cursor_beyond_64_bits_is_400_not_a_store_error(gateway: Gateway, path: str) -> None:
    assert_problem(await gateway.client.get(path, headers=ADMIN), 400)


@pytest.mark.parametrize("delivery_id", ["9" * 30, "9223372036854775808", "0", "-5"])
async def test_retry_of_an_impossible_delivery_id_is_404(gateway: Gateway, delivery_id: str) -> None:
    assert_problem(await gateway.client.post(f"/v1/admin/deliveries/{delivery_id}/retry", headers=ADMIN), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"secret": "whsec_"}, "secret"),
        ({"secret": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", ""]}, "secret"),
        ({"headers": {"x-token\n": "v"}}, "headers"),
    ],
)
async def test_put_refuses_an_endpoint_delivery_cannot_use(gateway: Gateway, body: dict[str, Any], field: str) -> None:
    response = await gateway.client.put(
        "/v1/admin/endpoints/acme/broken", json={"url": "http://127.0.0.1:9/x", **body}, headers=ADMIN
    )
    problem = assert_problem(response, 422)
    assert field in json.dumps(problem["errors"])
    listed = (await gateway.client.get("/v1/admin/endpoints?org=acme", headers=ADMIN)).json()["items"]
    assert "broken" not in [item["name"] for item in listed]
    # Nothing was stored that would stop the dispatcher for every other endpoint.
    await gateway.state.dispatcher.refresh_endpoints()


async def test_a_return_created_without_awb_is_found_by_its_return_order_code(gateway: Gateway) -> None:
    # SPEC §6: a return created without an AWB is keyed by its return order code, and
    # lookups by any of its keys find it.
    created = await gateway.client.post(
        "/v1/acme/returns",
        json={"returnOrderCode": "R-NOAWB", "forwardOrderCode": "F-2", "orderItems": [{"itemCode": "I-1"}]},
        headers=API,
    )
    assert created.status_code == 201 and created.json()["awbNumber"] is None
    response = await gateway.shipment("acme", "R-NOAWB")
    assert response.status_code == 200
    [leg] = response.json()["legs"]
    assert leg["shipmentType"] == "RETURN" and leg["currentStatus"] == "RETURN_CREATED"


async def test_a_return_naming_an_account_the_org_lacks_is_422_not_a_return_without_awb(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/acme/returns",
        json={"returnOrderCode": "R-ACC", "forwardOrderCode": "F-3", "orderItems": [{"itemCode": "I-1"}]}
        | {"accountAlias": "nope"},
        headers=API,
    )
    problem = assert_problem(response, 422)
    assert "accountAlias" in json.dumps(problem["errors"])
    assert (await gateway.shipment("acme", "R-ACC")).status_code == 404  # nothing was recorded
