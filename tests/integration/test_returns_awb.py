"""A return created without an AWB gets one from the org's aggregator (a faithful fake)."""

from __future__ import annotations

from pathlib import Path

from proxysupport import proxy_env
from support import load_fixture

from gateway.clock import ManualClock


def create_without_awb() -> dict[str, object]:
    body = {
        k: v
        for k, v in load_fixture("returns/create-return.json")["body"].items()
        if k not in ("awbNumber", "transporter")
    }
    body["returnsSystem"] = "returns_prime"
    body["dropAddress"] = {
        "name": "WH Bengaluru",
        "line1": "Plot 4, KIADB",
        "city": "Bengaluru",
        "state": "Karnataka",
        "zip": "560100",
        "country": "INDIA",
        "phone": "8000000000",
    }
    body["shipmentDimension"] = {"length": 30, "breadth": 20, "height": 5, "weight": 400}
    return body


async def test_return_without_awb_gets_one_through_shiprocket(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        created = await env.post("returns", create_without_awb())
        assert created.status_code == 201, created.text
        awb = created.json()["awbNumber"]
        assert awb and created.json()["transporter"]
        paths = [c.path for c in env.shiprocket.calls]
        assert any(p.endswith("/orders/create/return") for p in paths)
        [assign] = [c for c in env.shiprocket.calls if c.path.endswith("/courier/assign/awb")]
        assert assign.body.get("is_return") in (1, True, "1")
        # The return and its AWB are one: the shipment lookup finds the return leg by it.
        legs = (await env.get(f"shipments/{awb}")).json()["legs"]
        assert [leg["shipmentType"] for leg in legs] == ["RETURN"]
        assert legs[0]["returnOrder"]["returnOrderCode"] == "RET2087"
        # A repeat answers the first result and asks the aggregator nothing more.
        calls = len(env.shiprocket.calls)
        again = await env.post("returns", create_without_awb())
        assert again.status_code == 200 and again.json()["awbNumber"] == awb
        assert len(env.shiprocket.calls) == calls


async def test_return_lacking_what_generation_needs_is_422_naming_fields(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        body = create_without_awb()
        del body["shipmentDimension"]
        response = await env.post("returns", body)
        assert response.status_code == 422
        assert "shipmentDimension" in str(response.json()["errors"])
        assert env.shiprocket.calls == []
