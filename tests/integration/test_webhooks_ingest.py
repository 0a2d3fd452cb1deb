"""Webhooks through the real app and a real SQLite file: auth, parsing, storage, answers."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from structlog.testing import capture_logs
from support import CREDENTIALS, Gateway, load_fixture, webhook_fixtures

SR_BODY: dict[str, Any] = {
    "awb": "SR1000",
    "courier_name": "Delhivery",
    "current_status": "IN TRANSIT",
    "shipment_status": "IN TRANSIT",
    "shipment_status_id": 18,
    "current_timestamp": "14 03 2025 09:12:40",
    "order_id": "ORD-1",
    "is_return": 0,
}


def sr(awb: str, status_id: int, label: str, when: str) -> dict[str, Any]:
    return {
        **SR_BODY,
        "awb": awb,
        "shipment_status_id": status_id,
        "shipment_status": label,
        "current_status": label,
        "current_timestamp": when,
    }


def deliveries(gw: Gateway, event_id: str) -> dict[str, str]:
    path = gw.state.store.path  # type: ignore[attr-defined]
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT endpoint, state FROM deliveries WHERE event_id = ?", (event_id,)).fetchall()
    return dict(rows)


@pytest.mark.parametrize("name", webhook_fixtures())
async def test_every_fixture_is_accepted_stored_and_readable(gateway: Gateway, name: str) -> None:
    fixture = load_fixture(name)
    response = await gateway.webhook("acme", fixture["source"], fixture["body"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == len(fixture["expect"]) and body["duplicates"] == 0
    assert len(body["eventIds"]) == len(fixture["expect"])
    for expect in fixture["expect"]:
        key = expect.get("awb") or expect.get("returnAwb") or expect.get("forwardAwb")
        shipment = await gateway.shipment("acme", key)
        assert shipment.status_code == 200, shipment.text
        legs = [leg for leg in shipment.json()["legs"] if leg["shipmentType"] == expect["shipmentType"]]
        assert len(legs) == 1
        assert legs[0]["currentStatus"] == expect["notificationType"]
        assert legs[0]["history"][-1]["notificationType"] == expect["notificationType"]
        assert legs[0]["history"][-1]["source"] == fixture["source"]


async def test_fanout_rows_follow_each_endpoints_filter(gateway: Gateway) -> None:
    forward = (await gateway.webhook("acme", "shiprocket", sr("F1", 18, "IN TRANSIT", "14 03 2025 09:00:00"))).json()
    assert deliveries(gateway, forward["eventIds"][0]) == {"all": "pending", "with-stale": "pending"}
    ret = load_fixture("webhooks/shiprocket-return-picked-up.json")["body"]
    returned = (await gateway.webhook("acme", "shiprocket", ret)).json()
    assert deliveries(gateway, returned["eventIds"][0]) == {
        "all": "pending",
        "with-stale": "pending",
        "returns-only": "pending",
    }


async def test_resend_is_a_duplicate_stored_once(gateway: Gateway) -> None:
    body = sr("D1", 18, "IN TRANSIT", "14 03 2025 09:00:00")
    first = (await gateway.webhook("acme", "shiprocket", body)).json()
    again = await gateway.webhook("acme", "shiprocket", body)
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicates": 1, "eventIds": first["eventIds"]}
    history = (await gateway.shipment("acme", "D1")).json()["legs"][0]["history"]
    assert len(history) == 1
    assert len(deliveries(gateway, first["eventIds"][0])) == 2


async def test_same_status_at_a_new_time_is_not_a_duplicate(gateway: Gateway) -> None:
    await gateway.webhook("acme", "shiprocket", sr("D2", 18, "IN TRANSIT", "14 03 2025 09:00:00"))
    second = (await gateway.webhook("acme", "shiprocket", sr("D2", 18, "IN TRANSIT", "14 03 2025 11:00:00"))).json()
    assert second["accepted"] == 1


async def test_older_status_is_stale_and_never_moves_current_status_back(gateway: Gateway) -> None:
    await gateway.webhook("acme", "shiprocket", sr("S1", 17, "OUT FOR DELIVERY", "15 03 2025 09:00:00"))
    late = (await gateway.webhook("acme", "shiprocket", sr("S1", 18, "IN TRANSIT", "14 03 2025 09:00:00"))).json()
    assert late["accepted"] == 1
    leg = (await gateway.shipment("acme", "S1")).json()["legs"][0]
    assert leg["currentStatus"] == "OUT_FOR_DELIVERY"
    assert [h["stale"] for h in leg["history"]] == [False, True]
    # Stale events reach only endpoints that asked for them.
    assert deliveries(gateway, late["eventIds"][0]) == {"with-stale": "pending"}


async def test_non_terminal_after_terminal_is_stale(gateway: Gateway) -> None:
    await gateway.webhook("acme", "shiprocket", sr("T1", 7, "DELIVERED", "15 03 2025 09:00:00"))
    await gateway.webhook("acme", "shiprocket", sr("T1", 17, "OUT FOR DELIVERY", "16 03 2025 09:00:00"))
    leg = (await gateway.shipment("acme", "T1")).json()["legs"][0]
    assert leg["currentStatus"] == "DELIVERED"
    assert leg["history"][1]["stale"] is True


async def test_unknown_status_is_kept_raw_and_changes_nothing(gateway: Gateway) -> None:
    await gateway.webhook("acme", "shiprocket", sr("U1", 18, "IN TRANSIT", "14 03 2025 09:00:00"))
    unknown = await gateway.webhook("acme", "shiprocket", sr("U1", 99, "HUB TRANSFER PENDING", "14 03 2025 10:00:00"))
    assert unknown.status_code == 200 and unknown.json()["accepted"] == 1
    leg = (await gateway.shipment("acme", "U1")).json()["legs"][0]
    assert leg["currentStatus"] == "IN_TRANSIT"
    assert leg["history"][1]["notificationType"] == "UNKNOWN"
    assert leg["history"][1]["rawStatus"] == "HUB TRANSFER PENDING"
    # "*" matches UNKNOWN; "RETURN_*" does not.
    assert set(deliveries(gateway, unknown.json()["eventIds"][0])) == {"all", "with-stale"}


async def test_return_learns_its_awb_and_lookups_by_either_key_find_it(gateway: Gateway) -> None:
    placed = load_fixture("webhooks/clickpost-return-placed.json")["body"]
    await gateway.webhook("acme", "clickpost", placed)
    pickup = json.loads(json.dumps(placed))
    pickup.update(
        waybill="CPR-9",
        clickpost_status_code=4,
        clickpost_status_description="PickedUp",
        timestamp="2025-01-26T10:00:00+05:30",
    )
    await gateway.webhook("acme", "clickpost", pickup)
    by_forward = (await gateway.shipment("acme", "CP7781234501")).json()["legs"]
    returns = [leg for leg in by_forward if leg["shipmentType"] == "RETURN"]
    assert len(returns) == 1
    assert [h["notificationType"] for h in returns[0]["history"]] == ["RETURN_CREATED", "RETURN_PICKED_UP"]
    by_return_awb = (await gateway.shipment("acme", "CPR-9")).json()["legs"]
    assert [leg["awb"] for leg in by_return_awb] == ["CPR-9"]
    assert by_return_awb[0]["currentStatus"] == "RETURN_PICKED_UP"


async def test_unknown_shipment_is_404(gateway: Gateway) -> None:
    response = await gateway.shipment("acme", "NOPE")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_log_lines_name_the_event_and_never_a_secret(gateway: Gateway) -> None:
    with capture_logs() as logs:
        response = await gateway.webhook("acme", "shiprocket", sr("L1", 18, "IN TRANSIT", "14 03 2025 09:00:00"))
        await gateway.client.post("/v1/acme/webhooks/shipway?key=sw-acme-hash-0001", json={"awbno": ""})
    accepted = [line for line in logs if line["event"] == "webhook.accepted"]
    assert len(accepted) == 1
    assert accepted[0]["awb"] == "L1" and accepted[0]["event_id"] == response.json()["eventIds"][0]
    text = json.dumps(logs, default=str)
    for secret in ("sr-acme-token-0001", "sw-acme-hash-0001"):
        assert secret not in text


async def test_store_failure_is_503_with_retry_after_and_nothing_acknowledged(gateway: Gateway) -> None:
    async def broken(jobs: Any) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    gateway.state.ingestor.writer._write = broken
    response = await gateway.webhook("acme", "shiprocket", sr("X1", 18, "IN TRANSIT", "14 03 2025 09:00:00"))
    assert response.status_code == 503
    assert response.headers["retry-after"].isdigit()
    assert (await gateway.shipment("acme", "X1")).status_code == 404


async def test_tenancy_credentials_and_keys_do_not_cross_orgs(gateway: Gateway) -> None:
    body = sr("TEN1", 18, "IN TRANSIT", "14 03 2025 09:00:00")
    for source in ("shiprocket", "clickpost", "magic"):
        response = await gateway.client.post(
            f"/v1/beta/webhooks/{source}", json=body, headers=CREDENTIALS["acme"][source]
        )
        assert response.status_code == 401, source
    shipway = await gateway.client.post(
        "/v1/beta/webhooks/shipway", json={"hash": "sw-acme-hash-0001", "status_feed": []}
    )
    assert shipway.status_code == 401
    await gateway.webhook("acme", "shiprocket", body)
    cross = await gateway.client.get("/v1/acme/shipments/TEN1", headers=CREDENTIALS["beta"]["api"])
    assert cross.status_code == 401
    own = await gateway.client.get("/v1/beta/shipments/TEN1", headers=CREDENTIALS["beta"]["api"])
    assert own.status_code == 404
