"""Returns end to end: Returns Prime and ClickPost flows through the real app to real sinks."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from sinks import Sink, SinkFactory
from support import Gateway, load_fixture

from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.dispatch.sender import Sender
from gateway.returns import GeneratedAwb
from gateway.routing import load_routes
from gateway.settings import load_settings

RP = {"authorization": "Bearer acme-rp-key-0001"}
OMS = {"authorization": "Bearer acme-oms-key-0001"}


def routes(shopify: str, rp: str, cp: str) -> str:
    return f"""
org = "acme"
[sources.shiprocket]
tokens = ["sr-acme-token-0001"]
[sources.clickpost]
keys = ["cp-acme-key-0001"]
[[api_keys]]
key = "acme-oms-key-0001"
name = "wms"
[[api_keys]]
key = "acme-rp-key-0001"
name = "returns-prime"
returns_system = "returns_prime"
[[endpoints]]
name = "shopify-integration"
url = "{shopify}"
headers = {{ authUsername = "acme", authPassword = "push-pass-0001" }}
[returns_systems.returns_prime]
url = "{rp}"
headers = {{ "x-rp-token" = "rp-token-0001" }}
[returns_systems.clickpost]
url = "{cp}"
headers = {{ "x-cp-key" = "cp-qc-key-0001" }}
"""


Env = Callable[..., contextlib.AbstractAsyncContextManager[Gateway]]


@pytest.fixture
def env(tmp_path: Path, clock: ManualClock) -> Env:
    @contextlib.asynccontextmanager
    async def make(shopify: Sink, rp: Sink, cp: Sink, generator: Any = None) -> AsyncIterator[Gateway]:
        directory = tmp_path / "routes"
        directory.mkdir(exist_ok=True)
        (directory / "acme.toml").write_text(routes(shopify.url("/notify"), rp.url("/qc"), cp.url("/qc")))
        settings = load_settings(
            None,
            {
                "GATEWAY_STORE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
                "GATEWAY_DELIVERY_RETRY_SCHEDULE": '["1s", "2s", "3s"]',
                "GATEWAY_DELIVERY_JITTER": "0",
            },
        )
        app = create_app(
            settings,
            load_routes(directory, env={}),
            clock=clock,
            sender=Sender(allow_private=True),
            run_dispatcher=False,
        )
        app.state.gateway.return_awb_generator = generator
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
                yield Gateway(app, client)

    return make


def failing(times: int) -> Any:
    count = {"n": 0}

    async def handler(request: web.Request) -> web.StreamResponse:
        count["n"] += 1
        return web.Response(status=500 if count["n"] <= times else 200)

    return handler


def sr_return(awb: str, status_id: int, label: str, when: str) -> dict[str, Any]:
    return {
        "awb": awb,
        "courier_name": "Xpressbees Reverse",
        "shipment_status": label,
        "current_status": label,
        "shipment_status_id": status_id,
        "current_timestamp": when,
        "order_id": "RET2087",
        "is_return": 1,
    }


async def test_returns_prime_flow_end_to_end(env: Env, make_sink: SinkFactory, clock: ManualClock) -> None:
    shopify, rp, cp = await make_sink(), await make_sink(), await make_sink()
    rp.routes["/qc"] = failing(2)
    async with env(shopify, rp, cp) as gw:
        create = load_fixture("returns/create-return.json")["body"]
        created = await gw.client.post("/v1/acme/returns", json=create, headers=RP)
        assert created.status_code == 201, created.text
        assert created.json()["returnsSystem"] == "returns_prime"
        await gw.state.dispatcher.run_until_idle()
        push = json.loads(shopify.received[0].body)
        assert push["notificationType"] == "RETURN_CREATED" and push["shipmentType"] == "RETURN"
        assert push["forwardOrderCode"] == "#2087"
        assert push["returnOrderInfo"] == {
            "returnOrderId": "RET2087",
            "returnAwb": "141177009911",
            "transporter": "Xpressbees Reverse",
            "returnOrderTime": 1740807300,
        }
        assert push["notificationUpdateTime"] == 1740807300
        assert push["items"] == [{"itemId": "1450982001", "sku": "TEE-BLK-M", "quantity": 1}]
        assert shopify.received[0].headers["authUsername"] == "acme"

        headers = {"content-type": "application/json", "x-api-key": "sr-acme-token-0001"}
        for body in (
            sr_return("141177009911", 42, "PICKED UP", "02 03 2025 11:30:00"),
            sr_return("141177009911", 7, "DELIVERED", "05 03 2025 16:00:00"),
        ):
            assert (await gw.client.post("/v1/acme/webhooks/shiprocket", json=body, headers=headers)).status_code == 200
        await gw.state.dispatcher.run_until_idle()
        assert [json.loads(r.body)["notificationType"] for r in shopify.received] == [
            "RETURN_CREATED",
            "RETURN_PICKED_UP",
            "RETURN_DELIVERED",
        ]
        legs = (await gw.client.get("/v1/acme/shipments/141177009911", headers=OMS)).json()["legs"]
        assert len(legs) == 1 and legs[0]["currentStatus"] == "RETURN_DELIVERED"
        assert [h["notificationType"] for h in legs[0]["history"]] == [
            "RETURN_CREATED",
            "RETURN_PICKED_UP",
            "RETURN_DELIVERED",
        ]

        qc = load_fixture("returns/processing-update.json")["body"]
        accepted = await gw.client.post("/v1/acme/returns/RET2087/processing-update", json=qc, headers=OMS)
        assert accepted.status_code == 202, accepted.text
        for _ in range(3):
            await gw.state.dispatcher.run_until_idle()
            clock.advance(3)
        legs = (await gw.client.get("/v1/acme/shipments/141177009911", headers=OMS)).json()["legs"]
        assert legs[0]["returnOrder"] == {
            "returnOrderCode": "RET2087",
            "returnsSystem": "returns_prime",
            "qcStatus": "PARTIAL",
        }
    assert len(rp.received) == 3  # two failures, then delivered
    assert {r.headers["webhook-id"] for r in rp.received} == {accepted.json()["webhookId"]}
    assert all(r.headers["x-rp-token"] == "rp-token-0001" for r in rp.received)
    sent = json.loads(rp.received[-1].body)
    assert sent == {
        "returnOrderCode": "RET2087",
        "forwardOrderCode": "#2087",
        "locationCode": "WH-BLR-1",
        "orderItems": qc["orderItems"],
    }
    assert cp.received == []


async def test_clickpost_exchange_flow_sends_qc_to_clickpost(env: Env, make_sink: SinkFactory) -> None:
    shopify, rp, cp = await make_sink(), await make_sink(), await make_sink()
    async with env(shopify, rp, cp) as gw:
        placed = load_fixture("webhooks/clickpost-return-placed.json")["body"]
        response = await gw.client.post(
            "/v1/acme/webhooks/clickpost", json=placed, headers={"webhook_key": "cp-acme-key-0001"}
        )
        assert response.status_code == 200
        # Before the return has an AWB of its own, ClickPost's return is known by the forward AWB.
        qc = {
            "forwardOrderCode": "ACME-40001",
            "locationCode": "WH-1",
            "orderItems": [
                {
                    "itemCode": "I-1",
                    "channelSkuCode": "TEE-BLK-M",
                    "qcStatus": "PASS",
                    "qcReason": None,
                    "imageUrls": None,
                }
            ],
        }
        accepted = await gw.client.post("/v1/acme/returns/CP7781234501/processing-update", json=qc, headers=OMS)
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["returnsSystem"] == "clickpost"
        await gw.state.dispatcher.run_until_idle()
    assert len(cp.received) == 1 and cp.received[0].headers["x-cp-key"] == "cp-qc-key-0001"
    assert json.loads(cp.received[0].body)["orderItems"][0]["qcStatus"] == "PASS"
    assert rp.received == []


async def test_create_is_idempotent_per_return_code(env: Env, make_sink: SinkFactory) -> None:
    shopify, rp, cp = await make_sink(), await make_sink(), await make_sink()
    async with env(shopify, rp, cp) as gw:
        create = load_fixture("returns/create-return.json")["body"]
        first = await gw.client.post("/v1/acme/returns", json=create, headers=RP)
        again = await gw.client.post("/v1/acme/returns", json={**create, "awbNumber": "OTHER"}, headers=RP)
        await gw.state.dispatcher.run_until_idle()
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert len(shopify.received) == 1


async def test_return_without_awb_gets_one_through_the_generator(env: Env, make_sink: SinkFactory) -> None:
    shopify, rp, cp = await make_sink(), await make_sink(), await make_sink()
    calls: list[str] = []

    async def generate(state: Any, org: str, body: Any) -> GeneratedAwb:
        calls.append(body.return_code())
        return GeneratedAwb(awb="GEN-AWB-1", transporter="Delhivery Reverse")

    async with env(shopify, rp, cp, generator=generate) as gw:
        create = {
            k: v
            for k, v in load_fixture("returns/create-return.json")["body"].items()
            if k not in ("awbNumber", "transporter")
        }
        created = await gw.client.post("/v1/acme/returns", json=create, headers=RP)
        await gw.state.dispatcher.run_until_idle()
    assert created.status_code == 201
    assert created.json()["awbNumber"] == "GEN-AWB-1" and calls == ["RET2087"]
    info = json.loads(shopify.received[0].body)["returnOrderInfo"]
    assert info["returnAwb"] == "GEN-AWB-1" and info["transporter"] == "Delhivery Reverse"


async def test_rms_create_shape_with_street_lines_and_line_item_list(env: Env, make_sink: SinkFactory) -> None:
    shopify, rp, cp = await make_sink(), await make_sink(), await make_sink()
    async with env(shopify, rp, cp) as gw:
        body = {
            "returnReason": "Damaged",
            "warehouseCode": "wh-1",
            "returnsSystem": "clickpost",
            "dropAddress": {"firstName": "WH", "street1": "Plot 4", "city": "Pune", "zip": "411001"},
            "orderDetails": {
                "orderNumber": "RMS-RET-9",
                "forwardOrderNumber": "FWD-9",
                "orderLineItemList": [{"clientSkuId": "SKU-9", "name": "Shoe", "quantity": 2}],
            },
        }
        created = await gw.client.post("/v1/acme/returns", json=body, headers=OMS)
        await gw.state.dispatcher.run_until_idle()
    assert created.status_code == 201, created.text
    assert created.json()["returnsSystem"] == "clickpost" and created.json()["awbNumber"] is None
    push = json.loads(shopify.received[0].body)
    assert push["items"] == [{"itemId": None, "sku": "SKU-9", "quantity": 2}]
    assert push["returnOrderInfo"]["returnOrderId"] == "RMS-RET-9" and push["forwardOrderCode"] == "FWD-9"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"returnOrderCode": "R1", "orderItems": [{"itemCode": "1"}]}, "forwardOrderCode"),
        ({"returnOrderCode": "R1", "forwardOrderCode": "F1", "orderItems": []}, "orderItems"),
        ({"forwardOrderCode": "F1", "orderItems": [{"itemCode": "1"}]}, "returnOrderCode"),
        ({"returnOrderCode": "R1", "forwardOrderCode": "F1", "orderItems": "x"}, "orderItems"),
    ],
)
async def test_create_return_field_problems_are_422(env: Env, make_sink: SinkFactory, body: Any, field: str) -> None:
    shopify, rp, cp = await make_sink(), await make_sink(), await make_sink()
    async with env(shopify, rp, cp) as gw:
        response = await gw.client.post("/v1/acme/returns", json=body, headers=RP)
    assert response.status_code == 422
    assert field in json.dumps(response.json()["errors"])


async def test_processing_update_problems(env: Env, make_sink: SinkFactory) -> None:
    shopify, rp, cp = await make_sink(), await make_sink(), await make_sink()
    async with env(shopify, rp, cp) as gw:
        qc = load_fixture("returns/processing-update.json")["body"]
        unknown = await gw.client.post("/v1/acme/returns/NOPE/processing-update", json=qc, headers=OMS)
        assert unknown.status_code == 404
        await gw.client.post("/v1/acme/returns", json=load_fixture("returns/create-return.json")["body"], headers=RP)
        bad_status = json.loads(json.dumps(qc))
        bad_status["orderItems"][0]["qcStatus"] = "MAYBE"
        missing = {"orderItems": [{"itemCode": "1", "qcStatus": "PASS"}]}
        for body in (bad_status, missing, {"orderItems": []}, [], {"orderItems": [{}]}):
            response = await gw.client.post("/v1/acme/returns/RET2087/processing-update", json=body, headers=OMS)
            assert response.status_code == 422, body
        no_key = await gw.client.post("/v1/acme/returns/RET2087/processing-update", json=qc)
        assert no_key.status_code == 401
        garbage = await gw.client.post("/v1/acme/returns/RET2087/processing-update", content=b"{", headers=OMS)
        assert garbage.status_code == 400
