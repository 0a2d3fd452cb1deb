"""The aggregator proxy under test: the real app, its accounts pointed at in-process fakes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fakes import clickpost, magic, shiprocket, shipway
from fakes.clickpost import FakeClickpost
from fakes.magic import FakeMagic
from fakes.network import FakeNetwork
from fakes.shiprocket import FakeShiprocket
from fakes.shipway import FakeShipway
from support import Gateway

from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.routing import load_routes
from gateway.settings import load_settings

SR, SW, CP, MG = 9101, 9102, 9103, 9104
API = {"authorization": "Bearer acme-oms-key-0001"}

ROUTES = f"""
org = "acme"
[[api_keys]]
key = "acme-oms-key-0001"
name = "oms"
[[endpoints]]
name = "all"
url = "http://127.0.0.1:9/all"

[accounts.sr-main]
aggregator = "shiprocket"
default = true
base_url = "http://127.0.0.1:{SR}"
email = "{shiprocket.EMAIL}"
password = "{shiprocket.PASSWORD}"
pickup_location = "Primary"

[accounts.sw-main]
aggregator = "shipway"
base_url = "http://127.0.0.1:{SW}"
username = "{shipway.USERNAME}"
license_key = "{shipway.LICENSE_KEY}"
warehouse_id = "77"

[accounts.cp-main]
aggregator = "clickpost"
base_url = "http://127.0.0.1:{CP}"
username = "{clickpost.USERNAME}"
key = "{clickpost.KEY}"
account_code = "Delhivery-acme"

[accounts.narvar]
aggregator = "magic"
name = "NARVAR"
headers = {{ "{magic.HEADER}" = "{magic.API_KEY}" }}
urls = {{ {", ".join(f'{k} = "http://127.0.0.1:{MG}{v}"' for k, v in magic.PATHS.items())} }}
"""

#: Every secret the test org configures, for the tests that look for leaks.
SECRETS = (shiprocket.PASSWORD, shipway.LICENSE_KEY, clickpost.KEY, magic.API_KEY, "acme-oms-key-0001")


def address(first: str, pin: str, **extra: Any) -> dict[str, Any]:
    return {
        "firstName": first,
        "lastName": "Patel",
        "addressLine1": "1205, 15th Main Road",
        "addressLine2": "HSR layout",
        "city": "Bangalore",
        "state": "Karnataka",
        "zip": pin,
        "country": "India",
        "phone": "9999999999",
        "email": "buyer@acme.test",
        **extra,
    }


def label_body(number: str = "ORD-1001", code: str = "S1", **top: Any) -> dict[str, Any]:
    """The RMS Magic Generate Shipping Label body (research/increff.md §3.2)."""
    return {
        "pickupAddress": address("Warehouse", "560102"),
        "dropAddress": address("Shyam", "380005"),
        "orderDetails": {
            "orderNumber": number,
            "shipmentCode": code,
            "paymentType": "COD",
            "orderAmount": 230,
            "orderDate": "2025-03-16T12:31:02+05:30",
            "orderLineItems": [
                {"name": "jeans", "sku": "sku-1", "sellingPricePerUnit": 100, "quantity": 1},
                {"name": "t-shirt", "sku": "sku-2", "sellingPricePerUnit": 65, "quantity": 2},
            ],
        },
        "shipmentDimension": {"length": 30, "breadth": 20, "height": 10, "weight": 1500},
        "warehouseCode": "wh-1",
        **top,
    }


def return_body(number: str = "RET-2001", code: str = "R1", **top: Any) -> dict[str, Any]:
    body = label_body(number, code, returnReason="SIZE_MISMATCH", **top)
    body["pickupAddress"], body["dropAddress"] = address("Shyam", "380005"), address("Warehouse", "560102")
    body["orderDetails"]["forwardOrderNumber"] = "ORD-1001"
    return body


@dataclass
class ProxyEnv:
    gw: Gateway
    shiprocket: FakeShiprocket = field(default_factory=FakeShiprocket)
    shipway: FakeShipway = field(default_factory=FakeShipway)
    clickpost: FakeClickpost = field(default_factory=FakeClickpost)
    magic: FakeMagic = field(default_factory=FakeMagic)

    async def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.gw.client.post(f"/v1/acme/{path}", json=body, headers=API if headers is None else headers)

    async def get(self, path: str, **params: str) -> httpx.Response:
        return await self.gw.client.get(f"/v1/acme/{path}", headers=API, params=params)


@contextlib.asynccontextmanager
async def proxy_env(tmp_path: Path, clock: ManualClock, *, proxy_timeout: str = "2s") -> AsyncIterator[ProxyEnv]:
    routes = tmp_path / "routes"
    routes.mkdir(exist_ok=True)
    (routes / "acme.toml").write_text(ROUTES)
    settings = load_settings(
        None, {"GATEWAY_STORE_URL": f"sqlite:///{tmp_path / 'gateway.db'}", "GATEWAY_PROXY_TIMEOUT": proxy_timeout}
    )
    fakes = ProxyEnv(gw=None)  # type: ignore[arg-type]
    network = FakeNetwork({SR: fakes.shiprocket, SW: fakes.shipway, CP: fakes.clickpost, MG: fakes.magic})
    async with httpx.AsyncClient(transport=network) as upstream:
        app = create_app(settings, load_routes(routes, env={}), clock=clock, run_dispatcher=False, proxy_http=upstream)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
                fakes.gw = Gateway(app, client)
                yield fakes
