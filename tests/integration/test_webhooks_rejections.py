"""Every rejection the inbound routes make: the right 4xx, problem+json, never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs
from support import CREDENTIALS, Gateway

SR = {
    "awb": "R1",
    "shipment_status_id": 18,
    "shipment_status": "IN TRANSIT",
    "current_timestamp": "14 03 2025 09:12:40",
}
SR_HEADERS = CREDENTIALS["acme"]["shiprocket"]


async def post(gw: Gateway, path: str, content: bytes, headers: dict[str, str] | None = None) -> Any:
    response = await gw.client.post(
        path, content=content, headers={"content-type": "application/json", **(headers or {})}
    )
    assert response.status_code < 500
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == response.status_code and problem["title"] and problem["detail"]
    return response


async def test_unknown_org_and_source_are_404(gateway: Gateway) -> None:
    assert (await post(gateway, "/v1/nobody/webhooks/shiprocket", b"{}", SR_HEADERS)).status_code == 404
    assert (await post(gateway, "/v1/acme/webhooks/fedex", b"{}", SR_HEADERS)).status_code == 404
    assert (await post(gateway, "/v1/acme/webhooks/gateway", b"{}", SR_HEADERS)).status_code == 404


async def test_body_over_the_cap_is_413_before_credentials_are_checked(gateway: Gateway) -> None:
    big = b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    assert (await post(gateway, "/v1/acme/webhooks/shiprocket", big)).status_code == 413


async def test_streamed_body_over_the_cap_is_413(gateway: Gateway) -> None:
    async def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 65536

    response = await gateway.client.post("/v1/acme/webhooks/shiprocket", content=chunks(), headers=SR_HEADERS)
    assert response.status_code == 413


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "wrong"}, {"x-api-key": ""}, {"x-api-key": "sr-acme-token-000"}])
async def test_bad_or_missing_credentials_are_401_whatever_the_body(gateway: Gateway, headers: dict[str, str]) -> None:
    assert (await post(gateway, "/v1/acme/webhooks/shiprocket", b"{not json", headers)).status_code == 401
    assert (await post(gateway, "/v1/acme/webhooks/shiprocket", json.dumps(SR).encode(), headers)).status_code == 401


async def test_every_secret_of_a_rotation_list_is_accepted(gateway: Gateway) -> None:
    for token in ("sr-acme-old-token", "sr-acme-token-0001"):
        body = json.dumps({**SR, "awb": f"ROT-{token}"}).encode()
        assert (await post(gateway, "/v1/acme/webhooks/shiprocket", body, {"x-api-key": token})).status_code == 200


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe{}",
        b'{"awb": "\xc3\x28"}',
        b"[" * 5000 + b"]" * 5000,
        b'{"awb": 123456789012345678901234567890}',
        b"",
        b'{"awb": NaN}',
    ],
    ids=["malformed", "bom-garbage", "invalid-utf8", "deep-nesting", "huge-integer", "empty", "nan"],
)
async def test_unparseable_bodies_are_400(gateway: Gateway, content: bytes) -> None:
    assert (await post(gateway, "/v1/acme/webhooks/shiprocket", content, SR_HEADERS)).status_code == 400


@pytest.mark.parametrize(
    ("source", "body"),
    [
        ("shiprocket", []),
        ("shiprocket", "text"),
        ("shiprocket", {"shipment_status_id": 18}),
        ("shiprocket", {"awb": "NA", "shipment_status_id": 18}),
        ("clickpost", {"waybill": "", "clickpost_status_code": 6}),
        ("magic", {"notificationType": "IN_TRANSIT", "shipmentType": "FORWARD"}),
        ("shipway", {"status_feed": [{"current_status": "DEL"}]}),
        ("shipway", {"status_time": "2025-01-01 10:00:00"}),
    ],
)
async def test_bodies_without_a_shipment_are_422(gateway: Gateway, source: str, body: Any) -> None:
    response = await gateway.webhook("acme", source, body)
    assert response.status_code == 422, response.text


async def test_shipway_without_key_is_parsed_first(gateway: Gateway) -> None:
    assert (await post(gateway, "/v1/acme/webhooks/shipway", b"{oops")).status_code == 400
    wrong = json.dumps({"hash": "nope", "status_feed": []}).encode()
    assert (await post(gateway, "/v1/acme/webhooks/shipway", wrong)).status_code == 401
    # With the key in the query, credentials come first and a bad body is 400 after them.
    assert (await post(gateway, "/v1/acme/webhooks/shipway?key=bad", b"{oops")).status_code == 401
    assert (await post(gateway, "/v1/acme/webhooks/shipway?key=sw-acme-hash-0001", b"{oops")).status_code == 400


@pytest.mark.parametrize("source", ["shiprocket", "clickpost", "shipway"])
async def test_key_query_parameter_is_a_credential(gateway: Gateway, source: str) -> None:
    key = {"shiprocket": "sr-acme-token-0001", "clickpost": "cp-acme-key-0001", "shipway": "sw-acme-hash-0001"}[source]
    body = {
        "shiprocket": {**SR, "awb": "Q-SR"},
        "clickpost": {"waybill": "Q-CP", "clickpost_status_code": 5, "timestamp": "2025-01-01T10:00:00Z"},
        "shipway": {"awbno": "Q-SW", "current_status": "INT", "status_time": "2025-01-01 10:00:00"},
    }[source]
    response = await post(gateway, f"/v1/acme/webhooks/{source}?key={key}", json.dumps(body).encode())
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1


async def test_magic_does_not_take_a_query_key(gateway: Gateway) -> None:
    body = json.dumps({"forwardAwb": "M1", "notificationType": "IN_TRANSIT", "shipmentType": "FORWARD"}).encode()
    assert (await post(gateway, "/v1/acme/webhooks/magic?key=magic-acme-pass-01", body)).status_code == 401


async def test_magic_domain_must_match_when_the_credential_names_one(gateway: Gateway) -> None:
    body = json.dumps({"forwardAwb": "M2", "notificationType": "IN_TRANSIT", "shipmentType": "FORWARD"}).encode()
    headers = {**CREDENTIALS["acme"]["magic"], "authDomainName": "other"}
    assert (await post(gateway, "/v1/acme/webhooks/magic", body, headers)).status_code == 401
    headers.pop("authDomainName")
    assert (await post(gateway, "/v1/acme/webhooks/magic", body, headers)).status_code == 401


@pytest.mark.parametrize("value", ["cp-acme-key-0001", "Bearer cp-acme-key-0001", "Basic cp-acme-key-0001"])
async def test_clickpost_key_may_ride_in_authorization(gateway: Gateway, value: str) -> None:
    body = json.dumps({"waybill": "CPA1", "clickpost_status_code": 5, "timestamp": "2025-01-01T10:00:00Z"}).encode()
    assert (await post(gateway, "/v1/acme/webhooks/clickpost", body, {"authorization": value})).status_code == 200


@pytest.mark.parametrize(
    ("source", "body"),
    [
        ("shipway", {"order_id": "X-1", "current_status": "DEL"}),
        ("shipway", {"status_feed": []}),
        ("shiprocket", {"channel_order_id": "enter your channel order id", "awb": ""}),
        ("shiprocket", {"channel": "Enter your channel", "current_status": "x"}),
    ],
)
async def test_panel_test_pings_are_acknowledged_and_store_nothing(gateway: Gateway, source: str, body: Any) -> None:
    response = await gateway.webhook("acme", source, body)
    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "duplicates": 0, "eventIds": []}


async def test_unauthenticated_ping_is_still_401(gateway: Gateway) -> None:
    body = json.dumps({"status_feed": [], "hash": "wrong"}).encode()
    assert (await post(gateway, "/v1/acme/webhooks/shipway", body)).status_code == 401


async def test_wrong_method_and_path_are_problem_json(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/acme/webhooks/shiprocket")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert (await gateway.client.get("/nothing")).status_code == 404


async def test_shipments_need_the_orgs_api_key(gateway: Gateway) -> None:
    for headers in ({}, {"authorization": "Bearer wrong-key-000"}, {"authorization": "acme-oms-key-0001"}):
        assert (await gateway.client.get("/v1/acme/shipments/A1", headers=headers)).status_code == 401


async def test_a_utf8_byte_order_mark_is_tolerated(gateway: Gateway) -> None:
    body = b"\xef\xbb\xbf" + json.dumps({**SR, "awb": "BOM1"}).encode()
    response = await post(gateway, "/v1/acme/webhooks/shiprocket", body, SR_HEADERS)
    assert response.status_code == 200 and response.json()["accepted"] == 1


async def test_webhooks_bypass_the_router_with_the_same_answers(gateway: Gateway) -> None:
    # The webhook route is served from RequestContext directly: the request id still comes
    # back, the same problem+json errors apply, and near-miss paths still meet the router.
    body = json.dumps({**SR, "awb": "DIRECT-1"}).encode()
    ok = await gateway.client.post(
        "/v1/acme/webhooks/shiprocket", content=body, headers={**SR_HEADERS, "x-request-id": "abc123"}
    )
    assert ok.status_code == 200 and ok.headers["x-request-id"] == "abc123" and ok.json()["accepted"] == 1
    assert (await post(gateway, "/v1/acme/webhooks/shiprocket/", body, SR_HEADERS)).status_code in (307, 404)
    assert (await post(gateway, "/v1//webhooks/shiprocket", body, SR_HEADERS)).status_code == 404
    assert (await gateway.client.get("/v1/acme/webhooks/shiprocket")).status_code == 405


async def test_a_crash_in_the_webhook_handler_is_a_logged_500_problem(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.inbound.parsers import PARSERS
    from gateway.models import Source

    def explode(body: Any) -> Any:
        raise RuntimeError("parser bug")

    monkeypatch.setitem(PARSERS, Source.SHIPROCKET, explode)
    # The server sees the exception too (ServerErrorMiddleware re-raises it after answering).
    transport = httpx.ASGITransport(app=gateway.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        with capture_logs() as logs:
            response = await client.post("/v1/acme/webhooks/shiprocket", content=json.dumps(SR), headers=SR_HEADERS)
    assert any(entry["event"] == "request.crashed" for entry in logs)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "parser bug" not in response.text
