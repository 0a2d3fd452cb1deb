"""The real process: acknowledged means durable, even through SIGKILL; SIGTERM exits 0."""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal

import httpx
from procs import HEADERS, GatewayProcess, children
from support import CREDENTIALS

STATUSES = [(6, "SHIPPED"), (18, "IN TRANSIT"), (17, "OUT FOR DELIVERY"), (7, "DELIVERED")]


def body(awb: str, step: int) -> bytes:
    status_id, label = STATUSES[step]
    return json.dumps(
        {
            "awb": awb,
            "shipment_status_id": status_id,
            "shipment_status": label,
            "current_status": label,
            "current_timestamp": f"1{step} 03 2025 09:00:00",
            "order_id": f"O-{awb}",
            "courier_name": "Delhivery",
        }
    ).encode()


async def test_every_acknowledged_event_survives_sigkill(gateway_process: GatewayProcess) -> None:
    gateway_process.start()
    acked: dict[str, list[str]] = {}

    async def shipment_updates(client: httpx.AsyncClient, awb: str) -> None:
        for step in range(len(STATUSES)):  # each acknowledged before the next
            response = await client.post("/v1/acme/webhooks/shiprocket", content=body(awb, step), headers=HEADERS)
            assert response.status_code == 200, response.text
            acked.setdefault(awb, []).extend(response.json()["eventIds"])

    async with httpx.AsyncClient(base_url=gateway_process.url, timeout=10) as client:
        await asyncio.gather(*(shipment_updates(client, f"K{i:04d}") for i in range(80)))
    assert gateway_process.proc is not None
    [writer_child] = children(gateway_process.proc.pid)  # stores the webhooks (store.writer_process)
    exited = os.pidfd_open(writer_child)
    gateway_process.kill(signal.SIGKILL)  # right after the last acknowledgement
    # Its input closed with the gateway: it ends on its own, not left behind.
    assert select.select([exited], [], [], 10)[0] == [exited]
    os.close(exited)

    assert sum(len(ids) for ids in acked.values()) == 320
    gateway_process.start()
    async with httpx.AsyncClient(base_url=gateway_process.url, timeout=10) as client:
        for awb, event_ids in acked.items():
            response = await client.get(f"/v1/acme/shipments/{awb}", headers=CREDENTIALS["acme"]["api"])
            assert response.status_code == 200
            leg = response.json()["legs"][0]
            assert [h["eventId"] for h in leg["history"]] == event_ids
            assert leg["currentStatus"] == "DELIVERED"


def test_sigterm_stops_gracefully_with_status_0(gateway_process: GatewayProcess) -> None:
    gateway_process.start()
    assert gateway_process.kill(signal.SIGTERM) == 0
    events = [json.loads(line)["event"] for line in gateway_process.log_lines() if line.startswith("{")]
    assert "gateway.stopped" in events


def test_log_lines_are_json_with_event_timestamp_level(gateway_process: GatewayProcess) -> None:
    gateway_process.start()
    response = httpx.post(
        f"{gateway_process.url}/v1/acme/webhooks/shiprocket?key=sr-acme-token-0001",
        content=body("LOG1", 0),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200
    gateway_process.kill(signal.SIGTERM)
    lines = [json.loads(line) for line in gateway_process.log_lines()]
    assert lines and all({"event", "timestamp", "level"} <= line.keys() for line in lines)
    assert any(line["event"] == "webhook.accepted" and line["awb"] == "LOG1" for line in lines)
    assert "sr-acme-token-0001" not in gateway_process.log_path.read_text()
