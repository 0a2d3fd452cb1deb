"""The proxy against the Shipway fake: Basic auth, v2orders with and without a carrier."""

from __future__ import annotations

import base64
from pathlib import Path

from proxysupport import label_body, proxy_env, return_body

from gateway.clock import ManualClock

BASIC = "Basic " + base64.b64encode(b"ops@acme.test:sw-license-key-0001").decode()


async def test_label_pushes_the_order_with_a_carrier(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        response = await env.post("labels", label_body(courierId=12, accountAlias="sw-main"))
        assert response.status_code == 200, response.text
        (call,) = env.shipway.calls
        assert (call.method, call.path) == ("POST", "/api/v2orders")
        assert call.headers["authorization"] == BASIC
        order = call.body
        assert order["order_id"] == "ORD-1001"
        assert order["carrier_id"] == "12" and order["warehouse_id"] == "77"
        assert order["payment_type"] == "C"
        assert order["order_total"] == "230" and order["order_weight"] == "1500"
        assert order["products"][1] == {
            "product": "t-shirt",
            "price": "65",
            "product_code": "sku-2",
            "product_quantity": "2",
            "discount": "0",
            "tax_rate": "0",
            "tax_title": "",
        }
        assert order["shipping_zipcode"] == "380005" and order["billing_firstname"] == "Shyam"
        stored = env.shipway.orders["ORD-1001"]
        assert response.json() == {
            "orderId": "ORD-1001",
            "orderNumber": "ORD-1001",
            "awb": stored["awb"],
            "carrierName": "12",
            "shippingLabelUrl": stored["shipping_url"],
            "aggregator": "shipway",
            "accountAlias": "sw-main",
        }


async def test_create_order_pushes_without_a_carrier(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        response = await env.post("orders", label_body(accountAlias="sw-main"))
        assert response.status_code == 200, response.text
        assert "carrier_id" not in env.shipway.calls[0].body
        assert response.json()["orderId"] == "ORD-1001" and response.json()["awb"] is None


async def test_label_without_any_carrier_is_422_before_calling(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        response = await env.post("labels", label_body(accountAlias="sw-main"))
        assert response.status_code == 422
        assert "courierId" in response.json()["detail"]
        assert not env.shipway.calls


async def test_refusal_inside_a_200_is_a_422_with_shipways_message(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        env.shipway.mode = "refuse"
        response = await env.post("labels", label_body(courierId=12, accountAlias="sw-main"))
        assert response.status_code == 422
        assert response.json()["detail"] == "shipway: Invalid shipping_zipcode"


async def test_get_label_reads_getorders_when_the_store_lacks_it(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        await env.post("orders", label_body("ORD-7", accountAlias="sw-main"))
        env.shipway.orders["ORD-7"].update(awb="SW77", carrier_id="3", shipping_url="http://127.0.0.1:9/l.pdf")
        response = await env.get("labels/ORD-7", accountAlias="sw-main")
        assert response.status_code == 200, response.text
        call = env.shipway.calls[-1]
        assert (call.method, call.path, call.query) == ("GET", "/api/getorders", {"orderid": "ORD-7"})
        assert call.headers["authorization"] == BASIC
        assert response.json()["awb"] == "SW77"
        assert response.json()["shippingLabelUrl"] == "http://127.0.0.1:9/l.pdf"


async def test_return_awbs_and_recommendation_are_501_naming_shipway(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        generate = await env.post("return-awbs", return_body(accountAlias="sw-main"))
        get = await env.get("return-awbs/RET-1", accountAlias="sw-main")
        recommend = await env.post(
            "couriers/recommendation",
            {
                "pickupPincode": "1",
                "dropPincode": "2",
                "deliveryType": "FORWARD",
                "isCod": False,
                "accountAlias": "sw-main",
            },
        )
        for response in (generate, get, recommend):
            assert response.status_code == 501
            assert "shipway" in response.json()["detail"]
        assert not env.shipway.calls


async def test_an_order_shipway_does_not_know_is_404(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        response = await env.get("labels/NOPE", accountAlias="sw-main")
        assert response.status_code == 404
        assert response.json()["detail"] == "shipway: No orders found"
