"""The proxy against the Shiprocket fake: what goes upstream, what the caller gets back."""

from __future__ import annotations

from pathlib import Path

from proxysupport import label_body, proxy_env, return_body

from gateway.clock import ManualClock

API = "/v1/external"


async def test_label_is_adhoc_order_then_awb_then_label_with_a_bearer_token(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        response = await env.post("labels", label_body(courierId="10"))
        assert response.status_code == 200, response.text
        sr = env.shiprocket
        assert [c.path for c in sr.calls] == [
            API + "/auth/login",
            API + "/orders/create/adhoc",
            API + "/courier/assign/awb",
            API + "/courier/generate/label",
        ]
        login, adhoc, awb, label = sr.calls
        assert login.body == {"email": "api-user@acme.test", "password": "sr-api-password-0001"}
        assert all(c.headers["authorization"].startswith("Bearer sr-jwt-") for c in (adhoc, awb, label))
        order = adhoc.body
        assert order["order_id"] == "ORD-1001"
        assert order["pickup_location"] == "Primary"
        assert order["order_date"] == "2025-03-16 12:31"
        assert order["billing_customer_name"] == "Shyam" and order["billing_pincode"] == "380005"
        assert order["shipping_is_billing"] is True
        assert order["payment_method"] == "COD"
        assert order["order_items"][1] == {"name": "t-shirt", "sku": "sku-2", "units": 2, "selling_price": 65.0}
        assert (order["length"], order["breadth"], order["height"], order["weight"]) == (30, 20, 10, 1.5)
        shipment_id = sr.to(API + "/orders/create/adhoc") and next(iter(sr.shipments))
        assert awb.body == {"shipment_id": int(shipment_id), "is_return": 0, "courier_id": 10}
        assert label.body == {"shipment_id": [int(shipment_id)]}
        assert response.json() == {
            "orderId": shipment_id,
            "orderNumber": "ORD-1001",
            "awb": sr.shipments[shipment_id]["awb"],
            "carrierName": "Delhivery Surface",
            "shippingLabelUrl": f"http://127.0.0.1:9/sr-labels/{shipment_id}.pdf",
            "aggregator": "shiprocket",
            "accountAlias": "sr-main",
        }
        assert "idempotent-replayed" not in response.headers


async def test_the_token_is_reused_and_refreshed_once_after_a_401(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        assert (await env.post("labels", label_body("ORD-1"))).status_code == 200
        assert (await env.post("labels", label_body("ORD-2"))).status_code == 200
        assert env.shiprocket.logins == 1
        env.shiprocket.expire_tokens()
        response = await env.post("labels", label_body("ORD-3"))
        assert response.status_code == 200, response.text
        assert env.shiprocket.logins == 2
        adhocs = env.shiprocket.to(API + "/orders/create/adhoc")
        # The refused call was repeated with the new token, once.
        assert [c.body["order_id"] for c in adhocs] == ["ORD-1", "ORD-2", "ORD-3", "ORD-3"]
        assert adhocs[-2].headers["authorization"] != adhocs[-1].headers["authorization"]


async def test_the_cached_token_is_renewed_after_nine_days(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        await env.post("labels", label_body("ORD-1"))
        clock.advance(9 * 86400 + 1)
        await env.post("labels", label_body("ORD-2"))
        assert env.shiprocket.logins == 2


async def test_create_order_then_label_reuses_the_shipment(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        created = await env.post("orders", label_body())
        assert created.status_code == 200, created.text
        order = created.json()
        assert order["awb"] is None and order["aggregator"] == "shiprocket"
        label = await env.post("labels", label_body())
        assert label.status_code == 200
        assert label.json()["orderId"] == order["orderId"]
        assert len(env.shiprocket.to(API + "/orders/create/adhoc")) == 1
        again = await env.post("orders", label_body())
        assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"


async def test_return_awb_is_a_return_order_and_an_awb_with_is_return(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        response = await env.post("return-awbs", return_body())
        assert response.status_code == 200, response.text
        ret = env.shiprocket.to(API + "/orders/create/return")[0].body
        assert ret["order_id"] == "RET-2001"
        assert ret["pickup_customer_name"] == "Shyam" and ret["pickup_pincode"] == "380005"
        assert ret["shipping_customer_name"] == "Warehouse" and ret["shipping_pincode"] == "560102"
        assert ret["order_items"][0]["return_reason"] == "SIZE_MISMATCH"
        assert env.shiprocket.to(API + "/courier/assign/awb")[0].body["is_return"] == 1
        assert not env.shiprocket.to(API + "/courier/generate/label")
        body = response.json()
        assert "shippingLabelUrl" not in body
        assert body["orderNumber"] == "RET-2001" and body["awb"].startswith("1417")


async def test_get_label_and_return_awb_answer_from_the_store(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        label = (await env.post("labels", label_body())).json()
        ret = (await env.post("return-awbs", return_body())).json()
        calls = len(env.shiprocket.calls)
        assert (await env.get(f"labels/{label['orderId']}")).json() == label
        assert (await env.get(f"return-awbs/{ret['orderId']}")).json() == ret
        assert len(env.shiprocket.calls) == calls


async def test_get_label_unknown_to_the_store_asks_shiprocket(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        await env.post("labels", label_body())
        sid = next(iter(env.shiprocket.shipments))
        # A shipment labelled outside the gateway: the store has never seen its id.
        env.shiprocket.shipments["999"] = dict(env.shiprocket.shipments[sid], awb="14170000999")
        env.shiprocket.calls.clear()
        fresh = await env.get("labels/999", accountAlias="sr-main")
        assert fresh.status_code == 200, fresh.text
        assert [c.path for c in env.shiprocket.calls] == [API + "/shipments/999", API + "/courier/generate/label"]
        assert fresh.json()["awb"] == "14170000999"
        assert fresh.json()["orderNumber"] == "ORD-1001"
        assert fresh.json()["shippingLabelUrl"] == "http://127.0.0.1:9/sr-labels/999.pdf"


async def test_courier_recommendation_uses_serviceability(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        body = {"pickupPincode": "560102", "dropPincode": 110019, "deliveryType": "FORWARD", "isCod": True}
        response = await env.post("couriers/recommendation", {**body, "weight": 1200, "invoiceValue": 1200})
        assert response.status_code == 200, response.text
        call = env.shiprocket.to(API + "/courier/serviceability/")[0]
        assert call.query == {
            "pickup_postcode": "560102",
            "delivery_postcode": "110019",
            "cod": "1",
            "weight": "1.2",
            "is_return": "0",
            "declared_value": "1200.0",
        }
        assert response.json() == {
            "courierData": [
                {"courierId": "24", "courierName": "Xpressbees", "priority": 1},
                {"courierId": "10", "courierName": "Delhivery Surface", "priority": 2},
            ]
        }


async def test_awb_refused_inside_a_200_is_a_422_with_shiprockets_message(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        env.shiprocket.refuse_awb = True
        response = await env.post("labels", label_body())
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "shiprocket: Courier not serviceable"
