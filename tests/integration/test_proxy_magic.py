"""The proxy against a fake RMS Magic aggregator: configured URLs, credential headers."""

from __future__ import annotations

from pathlib import Path

from proxysupport import label_body, proxy_env, return_body

from gateway.clock import ManualClock

KEY = {"x-api-key": "magic-outbound-key-0001"}


async def test_label_posts_the_magic_shape_with_the_accounts_headers(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        request = label_body(courierId=1, accountAlias="narvar")
        response = await env.post("labels", request)
        assert response.status_code == 200, response.text
        (call,) = env.magic.calls
        assert (call.method, call.path) == ("POST", "/rms/generate-label")
        assert call.headers["x-api-key"] == KEY["x-api-key"]
        # The caller's API key is never forwarded.
        assert "acme-oms-key-0001" not in str(call.headers)
        sent = call.body
        assert sent["logisticAggregatorName"] == "NARVAR"
        assert "accountAlias" not in sent
        assert sent["courierId"] == "1"
        assert sent["orderDetails"]["orderNumber"] == "ORD-1001"
        assert sent["orderDetails"]["shipmentType"] == "FORWARD"
        assert sent["dropAddress"] == request["dropAddress"]
        body = response.json()
        assert body["aggregator"] == "magic" and body["accountAlias"] == "narvar"
        assert body["awb"] == env.magic.orders[body["orderId"]]["awb"]
        assert body["shippingLabelUrl"].endswith(f"/magic-labels/{body['orderId']}.pdf")


async def test_return_awb_accepts_the_older_returnAwb_name(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        response = await env.post("return-awbs", return_body(accountAlias="narvar"))
        assert response.status_code == 200, response.text
        call = env.magic.calls[0]
        assert call.path == "/rms/generate-return-awb"
        assert call.body["returnReason"] == "SIZE_MISMATCH"
        assert call.body["orderDetails"]["shipmentType"] == "RETURN"
        body = response.json()
        assert body["awb"] == env.magic.orders[body["orderId"]]["returnAwb"]
        assert "shippingLabelUrl" not in body


async def test_get_label_and_return_awb_use_the_get_urls_with_orderId(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        env.magic.orders["777"] = {"orderId": "777", "orderNumber": "X", "returnAwb": "R777", "carrierName": "DTDC"}
        label = await env.get("labels/777", accountAlias="narvar")
        ret = await env.get("return-awbs/777", accountAlias="narvar")
        assert [(c.method, c.path, c.query) for c in env.magic.calls] == [
            ("GET", "/rms/label", {"orderId": "777"}),
            ("GET", "/rms/return-awb", {"orderId": "777"}),
        ]
        assert all(c.headers["x-api-key"] == KEY["x-api-key"] for c in env.magic.calls)
        assert label.json()["awb"] == "R777" and ret.json()["awb"] == "R777"
        assert ret.json()["carrierName"] == "DTDC"


async def test_couriers_accepts_the_older_couriers_wrapper(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        ask = {"pickupPincode": "560102", "dropPincode": "110019", "deliveryType": "FORWARD", "isCod": True}
        response = await env.post("couriers/recommendation", {**ask, "invoiceValue": 1200, "accountAlias": "narvar"})
        assert response.status_code == 200, response.text
        sent = env.magic.calls[0].body
        assert env.magic.calls[0].path == "/rms/couriers"
        assert sent["pickupPincode"] == "560102" and sent["paymentType"] == "COD" and sent["orderAmount"] == 1200
        assert response.json()["courierData"] == [
            {"courierId": "1001", "courierName": "Delhivery", "priority": 1},
            {"courierId": "1002", "courierName": "Fedex", "priority": 2},
        ]


async def test_a_4xx_is_a_422_with_the_aggregators_message(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        env.magic.mode = "refuse"
        response = await env.post("labels", label_body(accountAlias="narvar"))
        assert response.status_code == 422
        assert response.json()["detail"] == "magic: pincode 000000 is not serviceable"
        metrics = (await env.gw.client.get("/metrics")).text
        assert (
            'gateway_proxy_calls_total{aggregator="magic",operation="generate_label",outcome="refused"} 1.0' in metrics
        )


async def test_create_order_is_501_naming_magic(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        response = await env.post("orders", label_body(accountAlias="narvar"))
        assert response.status_code == 501
        assert "magic" in response.json()["detail"]
        assert not env.magic.calls
