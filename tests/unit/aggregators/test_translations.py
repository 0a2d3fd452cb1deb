"""Translations of the Magic shapes to each aggregator's fields, and the proxy's helpers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from gateway.aggregators.accounts import ClickpostAccount, ShiprocketAccount, ShipwayAccount
from gateway.aggregators.base import Refused
from gateway.aggregators.clickpost import create_order
from gateway.aggregators.http import Upstream, message_of
from gateway.aggregators.magic import magic_body
from gateway.aggregators.shiprocket import adhoc_order, return_order
from gateway.aggregators.shipway import v2order
from gateway.api.proxy_models import LabelRequest, ReturnAwbRequest
from gateway.configfiles import ConfigError
from gateway.proxy.singleflight import SingleFlight
from gateway.routing import load_routes

ADDRESS = {
    "firstName": "Ram",
    "addressLine1": "1 Road",
    "city": "Pune",
    "state": "MH",
    "zip": 411001,
    "country": "India",
}
BODY: dict[str, Any] = {
    "pickupAddress": ADDRESS,
    "dropAddress": {**ADDRESS, "firstName": "Shyam", "zip": "110019", "addressLine3": "Block C"},
    "orderDetails": {
        "orderNumber": 12345,
        "paymentType": "PREPAID",
        "orderAmount": 99.5,
        "orderDate": "2025-03-16T23:50:00+00:00",
        "orderLineItems": [{"name": "cap", "sku": "c-1", "sellingPricePerUnit": 99.5, "quantity": 1}],
    },
    "shipmentDimension": {"length": 10, "breadth": 10, "height": 5, "weight": 250},
}
SR = ShiprocketAccount(
    aggregator="shiprocket", base_url="http://127.0.0.1:1", email="a@b.c", password="pw", pickup_location="WH"
)
SW = ShipwayAccount(aggregator="shipway", base_url="http://127.0.0.1:1", username="u@b.c", license_key="k")
CP = ClickpostAccount(aggregator="clickpost", base_url="http://127.0.0.1:1", username="u", key="k")


def test_numbers_are_read_as_strings_and_a_missing_shipment_code_is_empty() -> None:
    request = LabelRequest.model_validate(BODY)
    assert request.orderDetails.orderNumber == "12345"
    assert request.orderDetails.shipmentCode == ""
    assert request.pickupAddress.zip == "411001"


def test_shiprocket_adhoc_uses_kg_india_time_and_prepaid() -> None:
    order = adhoc_order(LabelRequest.model_validate(BODY), SR)
    assert order["weight"] == 0.25
    assert order["order_date"] == "2025-03-17 05:20"  # 23:50 UTC is the next morning in India
    assert order["payment_method"] == "Prepaid"
    assert order["pickup_location"] == "WH"
    assert order["billing_address_2"] == "Block C"


def test_shiprocket_return_order_picks_up_from_the_pickup_address() -> None:
    order = return_order(ReturnAwbRequest.model_validate({**BODY, "returnReason": "DAMAGED"}))
    assert (order["pickup_customer_name"], order["shipping_customer_name"]) == ("Ram", "Shyam")
    assert order["order_items"][0]["return_reason"] == "DAMAGED"


def test_shipway_writes_amounts_as_strings_and_needs_a_carrier_for_a_label() -> None:
    request = LabelRequest.model_validate(BODY)
    order = v2order(request, SW, with_label=False)
    assert (order["payment_type"], order["order_total"], order["order_weight"]) == ("P", "99.50", "250")
    with pytest.raises(Refused):
        v2order(request, SW, with_label=True)
    with_carrier = SW.model_copy(update={"carrier_id": "9"})
    assert v2order(request, with_carrier, with_label=True)["carrier_id"] == "9"


def test_clickpost_forward_and_rvp() -> None:
    forward = create_order(LabelRequest.model_validate(BODY), CP)
    assert forward["additional"]["delivery_type"] == "FORWARD" and "rvp_reason" not in forward["additional"]
    assert forward["shipment_details"]["cod_value"] == 0
    rvp = create_order(ReturnAwbRequest.model_validate({**BODY, "returnReason": "SIZE"}), CP)
    assert rvp["additional"]["delivery_type"] == "RVP" and rvp["additional"]["rvp_reason"] == "SIZE"


def test_magic_body_is_the_request_without_the_alias() -> None:
    body = magic_body(ReturnAwbRequest.model_validate({**BODY, "returnReason": "X", "accountAlias": "a"}), "NARVAR")
    assert "accountAlias" not in body
    assert body["logisticAggregatorName"] == "NARVAR"
    assert body["orderDetails"]["shipmentType"] == "RETURN"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"message": "Oops", "errors": {"pin": ["bad"]}}, "Oops (pin: bad)"),
        ({"meta": {"message": "Invalid key", "status": 400}}, "Invalid key"),
        ({"error": {"message": "nested"}}, "nested"),
        ("plain", "plain"),
        ({"nothing": 1}, None),
    ],
)
def test_aggregator_messages_are_found_where_each_keeps_them(data: Any, message: str | None) -> None:
    assert message_of(data) == message


def test_upstream_messages_never_carry_the_accounts_secrets() -> None:
    upstream = Upstream(None, "clickpost", ["cp-secret-key"])  # type: ignore[arg-type]
    assert upstream.refused("bad key cp-secret-key").detail == "clickpost: bad key [redacted]"


async def test_single_flight_runs_once_for_concurrent_callers_and_again_afterwards() -> None:
    flights: SingleFlight[int] = SingleFlight()
    runs = 0
    gate = asyncio.Event()

    async def work() -> int:
        nonlocal runs
        runs += 1
        await gate.wait()
        return runs

    tasks = [asyncio.create_task(flights.do("k", work)) for _ in range(5)]
    await asyncio.sleep(0)
    assert flights.waiting("k") == 5
    gate.set()
    results = await asyncio.gather(*tasks)
    assert [r[0] for r in results] == [1] * 5 and sum(r[1] for r in results) == 1
    assert (await flights.do("k", work)) == (2, True)


def test_a_bad_account_stops_loading_naming_its_fields(tmp_path: Path) -> None:
    (tmp_path / "acme.toml").write_text(
        'org = "acme"\n[accounts.sr]\naggregator = "shiprocket"\nbase_url = "ftp://127.0.0.1"\nemail = "a@b.c"\n'
    )
    with pytest.raises(ConfigError) as err:
        load_routes(tmp_path, env={})
    text = str(err.value)
    assert "accounts.sr" in text and "base_url" in text and "password" in text and "pickup_location" in text
