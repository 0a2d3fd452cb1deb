"""Field limits through the real app on each backend (SQLite and the real PostgreSQL): a value
over its limit, or with a control character, is the same 4xx on both, never a 503; values
within the limits, and values the gateway does not read, are stored on both."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pytest
from proxysupport import label_body
from support import CREDENTIALS, Gateway, load_fixture, signed_request

API = CREDENTIALS["acme"]["api"]
SHIPROCKET = load_fixture("webhooks/shiprocket-in-transit.json")["body"]
#: Each source's fixture, and where its AWB is, as a path of keys and indexes.
AWB_FIELDS: dict[str, tuple[str, tuple[str | int, ...]]] = {
    "shipway": ("webhooks/shipway-batch.json", ("status_feed", 0, "awbno")),
    "clickpost": ("webhooks/clickpost-out-for-delivery.json", ("waybill",)),
    "magic": ("webhooks/magic-forward.json", ("forwardAwb",)),
}


async def send(gw: Gateway, source: str, body: Any) -> httpx.Response:
    # orjson, not the json module: the bodies must reach the gateway as sent, NULs included.
    headers, body = signed_request("acme", source, body)
    response = await gw.client.post(
        f"/v1/acme/webhooks/{source}",
        content=orjson.dumps(body),
        headers={"content-type": "application/json", **headers},
    )
    return checked(response)


def checked(response: httpx.Response) -> httpx.Response:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    return response


def fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"awb": "59810022\x0017644"}, "awb"),
        ({"shipment_status": "IN\x00TRANSIT"}, "shipment_status"),
        ({"awb": "5" * 900_000}, "awb"),
        ({"shipment_status": "IN TRANSIT " + "x" * 2000}, "shipment_status"),
        ({"courier_name": "Delhivery\x1bSurface"}, "courier_name"),
        ({"current_timestamp": "14 03 2025\x00"}, "current_timestamp"),
    ],
    ids=["nul-in-awb", "nul-in-status-text", "900kb-awb", "long-status-text", "escape-in-courier", "nul-in-time"],
)
async def test_a_shiprocket_value_over_its_limit_is_422_naming_it_on_every_backend(
    gw: Gateway, changes: dict[str, str], field: str
) -> None:
    awb = f"LIM-SR-{field}"
    response = await send(gw, "shiprocket", {**SHIPROCKET, "awb": awb, **changes})
    assert fields(response) == [field]
    if "awb" not in changes:
        assert (await gw.shipment("acme", awb)).status_code == 404  # nothing was stored


async def test_values_within_the_limits_and_values_not_read_are_stored_on_every_backend(gw: Gateway) -> None:
    awb = "L" * 128
    status = "IN TRANSIT\n\tat\r\n".ljust(2000, "x")
    scans = [{**SHIPROCKET["scans"][0], "location": "Jaipur\x00Hub"}]
    body = {**SHIPROCKET, "awb": awb, "shipment_status": status, "remarks": "\x00" * 4000, "scans": scans}
    assert (await send(gw, "shiprocket", body)).json()["accepted"] == 1
    shipment = (await gw.shipment("acme", awb)).json()
    assert shipment["legs"][0]["history"][0]["rawStatus"] == status


@pytest.mark.parametrize("source", sorted(AWB_FIELDS))
async def test_each_aggregator_holds_its_awb_to_the_identifier_limit(gw: Gateway, source: str) -> None:
    fixture, path = AWB_FIELDS[source]
    for length, accepted in ((129, False), (128, True)):
        body = copy.deepcopy(load_fixture(fixture)["body"])
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = f"LIM-{source}-".ljust(length, "9")
        response = await send(gw, source, body)
        if accepted:
            assert response.status_code == 200 and response.json()["accepted"] >= 1
        else:
            assert fields(response) == [".".join(map(str, path)).replace(".0.", "[0].")]


async def test_returns_and_proxy_bodies_hold_their_identifiers_on_every_backend(gw: Gateway) -> None:
    base = load_fixture("returns/create-return.json")["body"]
    for changes, field in (
        ({"returnOrderCode": "RET\x002087"}, "returnOrderCode"),
        ({"awbNumber": "1" * 129}, "awbNumber"),
        ({"returnOrderTime": "2025-03-01\x00"}, "returnOrderTime"),
        ({"returnReason": "too small\x07" * 5}, "returnReason"),
    ):
        response = await gw.client.post("/v1/acme/returns", json={**base, **changes}, headers=API)
        assert fields(checked(response)) == [field]
    label = label_body(number="ORD\x001001")
    response = await gw.client.post("/v1/acme/labels", content=orjson.dumps(label), headers=API)
    assert fields(checked(response)) == ["orderDetails.orderNumber"]


@pytest.mark.parametrize("value", ["A\x00B", "A" * 129])
async def test_a_path_identifier_over_the_limit_names_nothing_on_every_backend(gw: Gateway, value: str) -> None:
    qc = load_fixture("returns/processing-update.json")["body"]
    segment = quote(value, safe="")
    for method, path, body in (
        ("GET", f"/v1/acme/shipments/{segment}", None),
        ("POST", f"/v1/acme/returns/{segment}/processing-update", qc),
        ("GET", f"/v1/acme/labels/{segment}", None),
        ("GET", f"/v1/acme/return-awbs/{segment}", None),
    ):
        response = await gw.client.request(method, path, json=body, headers=API)
        assert checked(response).status_code == 404, path
