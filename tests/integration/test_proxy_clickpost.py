"""The proxy against the ClickPost fake: key in the query, create-order v3, RVP, labels."""

from __future__ import annotations

from pathlib import Path

from proxysupport import label_body, proxy_env, return_body

from gateway.clock import ManualClock

AUTH = {"username": "acme-cp", "key": "cp-api-key-0001"}


async def test_label_is_create_order_v3_with_label_true(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        response = await env.post("labels", label_body(courierId="4", accountAlias="cp-main"))
        assert response.status_code == 200, response.text
        (call,) = env.clickpost.calls
        assert (call.method, call.path, call.query) == ("POST", "/api/v3/create-order/", AUTH)
        assert "authorization" not in call.headers
        body = call.body
        assert (
            body["pickup_info"]["pickup_pincode"] == "560102"
            and body["pickup_info"]["pickup_name"] == "Warehouse Patel"
        )
        assert body["drop_info"]["drop_pincode"] == "380005"
        assert body["drop_info"]["drop_address"] == "1205, 15th Main Road, HSR layout"
        details = body["shipment_details"]
        assert details["reference_number"] == "ORD-1001"
        assert details["order_type"] == "COD" and details["cod_value"] == 230
        assert details["courier_partner"] == 4 and details["weight"] == 1500
        assert details["items"][0] == {"sku": "sku-1", "description": "jeans", "quantity": 1, "price": 100.0}
        assert body["additional"] == {
            "label": True,
            "delivery_type": "FORWARD",
            "order_date": "2025-03-16",
            "account_code": "Delhivery-acme",
        }
        (waybill,) = env.clickpost.waybills
        assert response.json() == {
            "orderId": waybill,
            "orderNumber": "ORD-1001",
            "awb": waybill,
            "carrierName": "Delhivery",
            "shippingLabelUrl": f"http://127.0.0.1:9/cp-labels/{waybill}.pdf",
            "aggregator": "clickpost",
            "accountAlias": "cp-main",
        }


async def test_return_awb_is_rvp_with_its_reason(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        response = await env.post("return-awbs", return_body(accountAlias="cp-main"))
        assert response.status_code == 200, response.text
        additional = env.clickpost.calls[0].body["additional"]
        assert additional["delivery_type"] == "RVP" and additional["rvp_reason"] == "SIZE_MISMATCH"
        assert env.clickpost.calls[0].body["pickup_info"]["pickup_name"] == "Shyam Patel"
        body = response.json()
        assert "shippingLabelUrl" not in body and body["awb"] in env.clickpost.waybills


async def test_refusal_inside_a_200_is_a_422_with_clickposts_message(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        env.clickpost.mode = "refuse"
        response = await env.post("labels", label_body(accountAlias="cp-main"))
        assert response.status_code == 422
        assert response.json()["detail"] == "clickpost: Drop pincode is not serviceable"


async def test_get_label_fetches_the_shipping_label_by_waybill(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        await env.post("labels", label_body(accountAlias="cp-main"))
        (waybill,) = env.clickpost.waybills
        stored = await env.get(f"labels/{waybill}")
        assert stored.status_code == 200 and len(env.clickpost.calls) == 1
        env.clickpost.waybills["7799"] = {}
        fresh = await env.get("labels/7799", accountAlias="cp-main")
        assert fresh.status_code == 200, fresh.text
        call = env.clickpost.calls[-1]
        assert (call.method, call.path) == ("GET", "/api/v1/fetch/shippinglabel/")
        assert call.query == {**AUTH, "waybill": "7799", "regenerate": "false"}
        assert fresh.json()["shippingLabelUrl"] == "http://127.0.0.1:9/cp-labels/7799.pdf"


async def test_recommendation_reads_the_preference_array(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        ask = {"pickupPincode": "110017", "dropPincode": "110019", "deliveryType": "RETURN", "isCod": False}
        response = await env.post("couriers/recommendation", {**ask, "invoiceValue": 1245, "accountAlias": "cp-main"})
        assert response.status_code == 200, response.text
        call = env.clickpost.calls[0]
        assert call.path == "/api/v1/recommendation_api/" and call.query == AUTH
        assert call.body == [
            {
                "pickup_pincode": "110017",
                "drop_pincode": "110019",
                "order_type": "PREPAID",
                "reference_number": "1",
                "item": "shipment",
                "invoice_value": 1245.0,
                "delivery_type": "RVP",
            }
        ]
        assert response.json()["courierData"] == [
            {"courierId": "1", "courierName": "Fedex", "priority": 1},
            {"courierId": "5", "courierName": "Bluedart", "priority": 2},
        ]


async def test_create_order_and_return_lookup_are_501_naming_clickpost(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        order = await env.post("orders", label_body(accountAlias="cp-main"))
        lookup = await env.get("return-awbs/7788", accountAlias="cp-main")
        for response in (order, lookup):
            assert response.status_code == 501
            assert "clickpost" in response.json()["detail"]
        assert not env.clickpost.calls
