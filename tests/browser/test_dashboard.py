"""The dashboard end to end: the real gateway on 127.0.0.1, a failing endpoint, headless
Debian Chromium (driven by Playwright) entering the admin token and replaying the dead
letter. A screenshot is kept in ``test-artifacts/dashboard.png``."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from support import REPO, wait_until_sync

from gateway.app import create_app
from gateway.routing import load_routes
from gateway.settings import load_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "test-artifacts"
ADMIN_TOKEN = "browser-admin-token-0001"
SR_TOKEN = "sr-browser-token-0001"
AWB = "77120033445566"

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip("Debian chromium is not installed (apt-get install chromium); CI installs it", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class FlakySink:
    """Answers 500 until ``healthy`` is set, then 200; records each webhook-id it was sent."""

    healthy: threading.Event = field(default_factory=threading.Event)
    received: list[str] = field(default_factory=list)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                sink.received.append(self.headers.get("webhook-id", ""))
                self.send_response(200 if sink.healthy.is_set() else 500)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def sink() -> Iterator[tuple[FlakySink, str]]:
    state = FlakySink()
    server = ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def gateway_url(tmp_path: Path, sink: tuple[FlakySink, str]) -> Iterator[str]:
    routes = tmp_path / "routes"
    routes.mkdir()
    (routes / "acme.toml").write_text(
        f'org = "acme"\n[sources.shiprocket]\ntokens = ["{SR_TOKEN}"]\n'
        f'[[endpoints]]\nname = "flaky-sink"\nurl = "{sink[1]}"\n'
    )
    settings = load_settings(
        None,
        {
            "GATEWAY_STORE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
            "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN,
            # One try, then the dead letter: no waiting for a retry schedule.
            "GATEWAY_DELIVERY_RETRY_SCHEDULE": "[]",
            "GATEWAY_DELIVERY_TIMEOUT": "2s",
            "GATEWAY_DELIVERY_LEASE": "7s",
            "GATEWAY_DELIVERY_ALLOW_PRIVATE_DESTINATIONS": "true",
        },
    )
    app = create_app(settings, load_routes(routes, env={}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def started() -> bool:
        assert thread.is_alive(), "the gateway's thread ended before it started serving"
        return server.started

    wait_until_sync(started, timeout=20, interval=0.02, what="the gateway started")
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _delivery(client: httpx.Client, wanted: str) -> dict[str, Any]:
    """Poll the admin API (bounded) until the only delivery is in state ``wanted``."""
    items: list[dict[str, Any]] = []

    def became() -> bool:
        nonlocal items
        items = client.get("/v1/admin/deliveries").json()["items"]
        return bool(items) and items[0]["state"] == wanted

    wait_until_sync(became, timeout=15, what=lambda: f"the delivery {wanted}: {items}")
    assert len(items) == 1
    return items[0]


def test_operator_replays_the_dead_letter_from_the_dashboard(gateway_url: str, sink: tuple[FlakySink, str]) -> None:
    flaky, _ = sink
    admin = httpx.Client(base_url=gateway_url, headers={"authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
    with admin:
        accepted = admin.post(
            "/v1/acme/webhooks/shiprocket",
            headers={"x-api-key": SR_TOKEN, "content-type": "application/json"},
            content=json.dumps(
                {
                    "awb": AWB,
                    "courier_name": "Delhivery",
                    "shipment_status": "IN TRANSIT",
                    "shipment_status_id": 18,
                    "current_timestamp": "14 03 2025 09:12:40",
                    "order_id": "ACME-BROWSER-1",
                }
            ),
        )
        assert accepted.status_code == 200, accepted.text
        event_id = accepted.json()["eventIds"][0]
        failed = _delivery(admin, "failed")
        assert failed["eventId"] == event_id and flaky.received == [event_id]

        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"{gateway_url}/ui")
                page.fill("#token", ADMIN_TOKEN)
                page.click("#login-form button[type=submit]")

                row = page.locator(f'#dead-letter tr[data-delivery-id="{failed["id"]}"]')
                sync_api.expect(row).to_contain_text(event_id)
                sync_api.expect(row).to_contain_text("flaky-sink")
                endpoint = page.locator("#endpoints tbody tr", has_text="flaky-sink")
                sync_api.expect(endpoint).to_contain_text("failing")
                sync_api.expect(endpoint.locator("td").nth(5)).to_have_text("1")  # failed attempts
                sync_api.expect(page.locator("#health")).to_have_text("health: ready")
                page.fill("#awb", AWB)
                page.click("#search-form button[type=submit]")
                sync_api.expect(page.locator("#notifications tbody")).to_contain_text(AWB)
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

                flaky.healthy.set()
                row.get_by_role("button", name="Replay").click()
                sync_api.expect(row).to_contain_text("requeued")
            finally:
                browser.close()

        delivered = _delivery(admin, "delivered")
    assert delivered["id"] == failed["id"] and delivered["eventId"] == event_id
    # The replay really went out again, with the same webhook-id.
    assert flaky.received == [event_id, event_id]


def test_a_wrong_token_is_refused_and_asked_again(gateway_url: str) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{gateway_url}/ui")
            page.fill("#token", "not-the-token")
            page.click("#login-form button[type=submit]")
            sync_api.expect(page.locator("#login-error")).to_contain_text("refused")
            sync_api.expect(page.locator("#dashboard")).to_be_hidden()
            assert page.evaluate("sessionStorage.getItem('gatewayAdminToken')") is None
        finally:
            browser.close()
