"""The admin API of SPEC §11: notifications, endpoints with health, PUT/DELETE, reload."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from sinks import Sink
from support import Gateway

from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.dispatch.sender import Sender
from gateway.routing import load_routes
from gateway.settings import load_settings

ADMIN = {"authorization": "Bearer dev-admin-token"}
PUSH_PASSWORD = "push-pass-secret-0001"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

Env = Callable[..., contextlib.AbstractAsyncContextManager[Gateway]]


def acme_toml(endpoints: dict[str, str]) -> str:
    blocks = "".join(
        f'\n[[endpoints]]\nname = "{name}"\nurl = "{url}"\n'
        f'headers = {{ authUsername = "acme", authPassword = "{PUSH_PASSWORD}" }}\nsecret = "{SECRET}"\n'
        for name, url in endpoints.items()
    )
    return f"""
org = "acme"
[sources.shiprocket]
tokens = ["sr-acme-token-0001"]
[[api_keys]]
key = "acme-oms-key-0001"
name = "oms"
{blocks}"""


@pytest.fixture
def env(tmp_path: Path, clock: ManualClock) -> Env:
    @contextlib.asynccontextmanager
    async def make(endpoints: dict[str, str], *, write: bool = True) -> AsyncIterator[Gateway]:
        routes = tmp_path / "routes"
        routes.mkdir(exist_ok=True)
        if write:
            (routes / "acme.toml").write_text(acme_toml(endpoints))
            (routes / "beta.toml").write_text('org = "beta"\n')
        settings = load_settings(
            None,
            {
                "GATEWAY_STORE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
                "GATEWAY_DELIVERY_RETRY_SCHEDULE": '["1s"]',
                "GATEWAY_DELIVERY_JITTER": "0",
                "GATEWAY_DELIVERY_TIMEOUT": "1s",
                "GATEWAY_DELIVERY_LEASE": "6s",
            },
        )
        app = create_app(
            settings, load_routes(routes, env={}), clock=clock, sender=Sender(allow_private=True), run_dispatcher=False
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
                yield Gateway(app, client)

    return make


def sr(awb: str, status_id: int = 18, label: str = "IN TRANSIT", minute: int = 0) -> dict[str, Any]:
    return {
        "awb": awb,
        "shipment_status_id": status_id,
        "shipment_status": label,
        "order_id": f"O-{awb}",
        "current_timestamp": f"14 03 2025 09:{minute // 60:02d}:{minute % 60:02d}",
        "courier_name": "Delhivery",
    }


async def post(gw: Gateway, body: dict[str, Any]) -> str:
    response = await gw.client.post(
        "/v1/acme/webhooks/shiprocket",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", "x-api-key": "sr-acme-token-0001"},
    )
    assert response.status_code == 200, response.text
    event_id: str = response.json()["eventIds"][0]
    return event_id


async def get(gw: Gateway, path: str, **params: Any) -> Any:
    response = await gw.client.get(path, params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def failing_then_ok(times: int) -> Any:
    count = {"n": 0}

    async def handler(request: web.Request) -> web.StreamResponse:
        count["n"] += 1
        if count["n"] <= times:
            return web.Response(status=500, text="upstream broke")
        return web.Response(text="thanks")

    return handler


# --- auth and errors ------------------------------------------------------------------

NEW_ROUTES = [
    ("GET", "/v1/admin/notifications"),
    ("GET", "/v1/admin/notifications/evt_x"),
    ("GET", "/v1/admin/endpoints"),
    ("PUT", "/v1/admin/endpoints/acme/x"),
    ("DELETE", "/v1/admin/endpoints/acme/x"),
    ("POST", "/v1/admin/reload"),
]


@pytest.mark.parametrize(("method", "path"), NEW_ROUTES)
async def test_every_admin_route_needs_the_admin_token(env: Env, method: str, path: str) -> None:
    async with env({"a": "http://127.0.0.1:9/a"}) as gw:
        for headers in ({}, {"authorization": "Bearer wrong-token"}, {"authorization": "acme-oms-key-0001"}):
            response = await gw.client.request(method, path, headers=headers, json={"url": "http://127.0.0.1:9/"})
            assert response.status_code == 401
            assert response.headers["content-type"] == "application/problem+json"


# --- notifications --------------------------------------------------------------------


async def test_search_filters_and_pages_newest_first(env: Env, clock: ManualClock) -> None:
    async with env({}) as gw:
        first = clock.now()
        ids = []
        for i in range(5):
            ids.append(await post(gw, sr(f"N{i % 2}", minute=i)))
            clock.advance(60)
        delivered = await post(gw, sr("N9", status_id=7, label="DELIVERED"))

        everything = await get(gw, "/v1/admin/notifications", org="acme")
        assert [n["eventId"] for n in everything["items"]] == [delivered, *reversed(ids)]
        assert everything["next"] is None
        item = everything["items"][-1]
        assert item["forwardAwb"] == "N0" and item["notificationType"] == "IN_TRANSIT"
        assert {"org", "shipmentType", "notificationUpdateTime", "rawStatus", "stale", "receivedAt"} <= set(item)

        pages, cursor = [], None
        while True:
            page = await get(gw, "/v1/admin/notifications", limit=2, **({"cursor": cursor} if cursor else {}))
            pages.append([n["eventId"] for n in page["items"]])
            cursor = page["next"]
            if cursor is None:
                break
        assert [e for page in pages for e in page] == [delivered, *reversed(ids)]
        assert len(pages) == 3

        by_awb = await get(gw, "/v1/admin/notifications", awb="N1")
        assert [n["eventId"] for n in by_awb["items"]] == [ids[3], ids[1]]
        by_type = await get(gw, "/v1/admin/notifications", type="DELIVERED")
        assert [n["eventId"] for n in by_type["items"]] == [delivered]
        from gateway.api.shipments import iso

        window = await get(gw, "/v1/admin/notifications", since=iso(first + 60), until=iso(first + 180))
        assert [n["eventId"] for n in window["items"]] == [ids[2], ids[1]]
        assert (await get(gw, "/v1/admin/notifications", org="beta"))["items"] == []

        for params in ({"type": "NOPE"}, {"since": "yesterday"}, {"limit": "0"}, {"cursor": "x"}):
            bad = await gw.client.get("/v1/admin/notifications", params=params, headers=ADMIN)
            assert bad.status_code == 400, params


async def test_one_notification_with_its_deliveries_and_attempts(env: Env, sink: Sink, clock: ManualClock) -> None:
    sink.routes["/flaky"] = failing_then_ok(1)
    async with env({"flaky": sink.url("/flaky"), "fine": sink.url("/fine")}) as gw:
        event_id = await post(gw, sr("D1"))
        await gw.state.dispatcher.run_until_idle()
        clock.advance(1)
        await gw.state.dispatcher.run_until_idle()

        detail = await get(gw, f"/v1/admin/notifications/{event_id}")
        assert detail["eventId"] == event_id and detail["receivedAt"]
        by_endpoint = {d["endpoint"]: d for d in detail["deliveries"]}
        assert set(by_endpoint) == {"flaky", "fine"}
        flaky = by_endpoint["flaky"]
        assert flaky["state"] == "delivered" and isinstance(flaky["id"], int)
        assert [a["statusCode"] for a in flaky["attempts"]] == [500, 200]
        assert flaky["attempts"][0]["responseExcerpt"] == "upstream broke"
        assert flaky["attempts"][1]["responseExcerpt"] == "thanks"
        assert set(flaky["attempts"][0]) == {"at", "statusCode", "durationMs", "error", "responseExcerpt"}
        assert [a["statusCode"] for a in by_endpoint["fine"]["attempts"]] == [200]

        missing = await gw.client.get("/v1/admin/notifications/evt_nope", headers=ADMIN)
        assert missing.status_code == 404


# --- endpoints: health ----------------------------------------------------------------


async def test_endpoint_health_without_secrets(env: Env, sink: Sink, clock: ManualClock) -> None:
    sink.routes["/flaky"] = failing_then_ok(1)
    async with env({"flaky": sink.url("/flaky"), "parked": sink.url("/parked?token=abc123secret")}) as gw:
        assert (await gw.client.post("/v1/admin/endpoints/acme/parked/disable", headers=ADMIN)).status_code == 200
        await post(gw, sr("H1"))
        await gw.state.dispatcher.run_until_idle()
        clock.advance(30)
        await post(gw, sr("H2"))
        clock.advance(10)

        response = await gw.client.get("/v1/admin/endpoints", headers=ADMIN)
        listing = response.json()
        items = {e["name"]: e for e in listing["items"]}
        flaky, parked = items["flaky"], items["parked"]
        assert flaky["org"] == "acme" and flaky["owner"] == "file" and flaky["disabled"] is False
        assert flaky["successRate"] == 0.0 and flaky["lastError"]
        assert flaky["backlog"] == 2 and flaky["oldestPendingAgeSeconds"] == 40.0
        assert parked["disabled"] is True and parked["backlog"] == 2 and parked["successRate"] is None
        assert parked["url"].endswith("/parked?[redacted]")
        assert flaky["headerNames"] == ["authPassword", "authUsername"] and flaky["signed"] is True
        for secret in (PUSH_PASSWORD, SECRET, "abc123secret"):
            assert secret not in response.text

        clock.advance(1)
        await gw.state.dispatcher.run_until_idle()
        healed = {e["name"]: e for e in (await get(gw, "/v1/admin/endpoints", org="acme"))["items"]}["flaky"]
        assert healed["backlog"] == 0 and healed["oldestPendingAgeSeconds"] is None
        assert healed["successRate"] == pytest.approx(2 / 3, abs=1e-4)

        first = await get(gw, "/v1/admin/endpoints", limit=1)
        second = await get(gw, "/v1/admin/endpoints", limit=1, cursor=first["next"])
        assert [e["name"] for e in first["items"] + second["items"]] == ["flaky", "parked"]
        assert second["next"] is None
        assert (await get(gw, "/v1/admin/endpoints", org="beta"))["items"] == []


# --- endpoints: PUT and DELETE --------------------------------------------------------


async def test_put_creates_and_replaces_an_api_owned_endpoint(env: Env, sink: Sink) -> None:
    async with env({"file-owned": "http://127.0.0.1:9/f"}) as gw:
        body = {"url": sink.url("/api"), "headers": {"x-token": "api-header-secret-1"}, "types": ["IN_TRANSIT"]}
        created = await gw.client.put("/v1/admin/endpoints/acme/api-hook", json=body, headers=ADMIN)
        assert created.status_code == 201, created.text
        assert created.json()["owner"] == "api" and created.json()["types"] == ["IN_TRANSIT"]
        assert "api-header-secret-1" not in created.text

        await post(gw, sr("P1"))
        await gw.state.dispatcher.run_until_idle()
        assert [r.path for r in sink.received] == ["/api"]
        assert sink.received[0].headers["x-token"] == "api-header-secret-1"

        await gw.client.post("/v1/admin/endpoints/acme/api-hook/disable", headers=ADMIN)
        replaced = await gw.client.put(
            "/v1/admin/endpoints/acme/api-hook", json={"url": sink.url("/api2"), "name": "api-hook"}, headers=ADMIN
        )
        assert replaced.status_code == 200
        assert replaced.json()["disabled"] is True  # replacing keeps the disabled state
        assert replaced.json()["types"] == ["*"]

        # The replaced endpoint receives DELIVERED too (types "*") once enabled again.
        await gw.client.post("/v1/admin/endpoints/acme/api-hook/enable", headers=ADMIN)
        await post(gw, sr("P1", status_id=7, label="DELIVERED"))
        await gw.state.dispatcher.run_until_idle()
        assert [r.path for r in sink.received] == ["/api", "/api2"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"url": "ftp://127.0.0.1/x"}, {"url"}),
        ({"url": "http://127.0.0.1:9/x", "colour": "red"}, {"colour"}),
        ({"url": "http://127.0.0.1:9/x", "max_in_flight": 0, "types": ["NOPE"]}, {"max_in_flight", "types"}),
        ({}, {"url"}),
        ({"url": "http://127.0.0.1:9/x", "name": "other"}, {"name"}),
    ],
)
async def test_put_with_bad_fields_is_422_naming_them(env: Env, body: dict[str, Any], fields: set[str]) -> None:
    async with env({}) as gw:
        response = await gw.client.put("/v1/admin/endpoints/acme/hook", json=body, headers=ADMIN)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert {e["field"].split(".")[0] for e in response.json()["errors"]} == fields
        assert (await get(gw, "/v1/admin/endpoints"))["items"] == []


async def test_put_and_delete_refuse_file_owned_and_unknown(env: Env) -> None:
    async with env({"file-owned": "http://127.0.0.1:9/f"}) as gw:
        body = {"url": "http://127.0.0.1:9/x"}
        put_file = await gw.client.put("/v1/admin/endpoints/acme/file-owned", json=body, headers=ADMIN)
        assert put_file.status_code == 409 and "acme.toml" in put_file.json()["detail"]
        assert (await gw.client.delete("/v1/admin/endpoints/acme/file-owned", headers=ADMIN)).status_code == 409
        assert (await gw.client.put("/v1/admin/endpoints/nobody/x", json=body, headers=ADMIN)).status_code == 404
        assert (await gw.client.delete("/v1/admin/endpoints/acme/none", headers=ADMIN)).status_code == 404
        bad_json = await gw.client.put("/v1/admin/endpoints/acme/x", content=b"{", headers=ADMIN)
        assert bad_json.status_code == 400
        (item,) = (await get(gw, "/v1/admin/endpoints"))["items"]
        assert item["url"] == "http://127.0.0.1:9/f"


async def test_delete_fails_its_waiting_deliveries_and_a_recreation_can_replay_them(env: Env, sink: Sink) -> None:
    async with env({}) as gw:
        body = {"url": sink.url("/api")}
        assert (await gw.client.put("/v1/admin/endpoints/acme/hook", json=body, headers=ADMIN)).status_code == 201
        await post(gw, sr("X1"))
        await post(gw, sr("X2"))
        deleted = await gw.client.delete("/v1/admin/endpoints/acme/hook", headers=ADMIN)
        assert deleted.status_code == 200 and deleted.json()["failedDeliveries"] == 2
        assert (await get(gw, "/v1/admin/endpoints"))["items"] == []
        failed = (await get(gw, "/v1/admin/deliveries", state="failed"))["items"]
        assert [d["lastError"] for d in failed] == ["endpoint deleted", "endpoint deleted"]
        await post(gw, sr("X3"))  # no endpoint, no delivery
        assert len((await get(gw, "/v1/admin/deliveries"))["items"]) == 2
        assert (await gw.client.delete("/v1/admin/endpoints/acme/hook", headers=ADMIN)).status_code == 404

        assert (await gw.client.put("/v1/admin/endpoints/acme/hook", json=body, headers=ADMIN)).status_code == 201
        retried = await gw.client.post(f"/v1/admin/deliveries/{failed[0]['id']}/retry", headers=ADMIN)
        assert retried.status_code == 200
        await gw.state.dispatcher.run_until_idle()
        assert len(sink.received) == 1


async def test_api_owned_endpoint_survives_a_restart(env: Env, sink: Sink) -> None:
    async with env({}) as gw:
        await gw.client.put("/v1/admin/endpoints/acme/hook", json={"url": sink.url()}, headers=ADMIN)
    async with env({}) as gw:
        (item,) = (await get(gw, "/v1/admin/endpoints"))["items"]
        assert item["name"] == "hook" and item["owner"] == "api"


# --- reload ---------------------------------------------------------------------------


async def test_reload_syncs_file_endpoints_and_keeps_disabled_state(env: Env, tmp_path: Path, sink: Sink) -> None:
    async with env({"old": sink.url("/old"), "kept": sink.url("/kept")}) as gw:
        await gw.client.put("/v1/admin/endpoints/acme/api-hook", json={"url": sink.url("/api")}, headers=ADMIN)
        await gw.client.post("/v1/admin/endpoints/acme/kept/disable", headers=ADMIN)
        (tmp_path / "routes" / "acme.toml").write_text(acme_toml({"kept": sink.url("/kept"), "new": sink.url("/new")}))
        (tmp_path / "routes" / "gamma.toml").write_text('org = "gamma"\n[sources.shiprocket]\ntokens = ["sr-g-1"]\n')

        reloaded = await gw.client.post("/v1/admin/reload", headers=ADMIN)
        assert reloaded.status_code == 200
        assert reloaded.json() == {"reloaded": True, "orgs": ["acme", "beta", "gamma"], "fileEndpoints": 2}
        items = {e["name"]: e for e in (await get(gw, "/v1/admin/endpoints"))["items"]}
        assert set(items) == {"api-hook", "kept", "new"}
        assert items["kept"]["disabled"] is True and items["api-hook"]["owner"] == "api"

        await post(gw, sr("R1"))
        await gw.state.dispatcher.run_until_idle()
        assert sorted(r.path for r in sink.received) == ["/api", "/new"]
        gamma = await gw.client.post("/v1/gamma/webhooks/shiprocket", json=sr("G1"), headers={"x-api-key": "sr-g-1"})
        assert gamma.status_code == 200
    async with env({}, write=False) as gw:  # a restart keeps the disabled state too
        items = {e["name"]: e for e in (await get(gw, "/v1/admin/endpoints"))["items"]}
        assert items["kept"]["disabled"] is True


async def test_a_bad_routes_file_is_422_naming_file_and_field_and_changes_nothing(env: Env, tmp_path: Path) -> None:
    async with env({"a": "http://127.0.0.1:9/a"}) as gw:
        (tmp_path / "routes" / "acme.toml").write_text(
            acme_toml({"a": "http://127.0.0.1:9/a", "b": "http://127.0.0.1:9/b"}) + "\nmax_in_flight = 0\n"
        )
        response = await gw.client.post("/v1/admin/reload", headers=ADMIN)
        assert response.status_code == 422
        (error,) = response.json()["errors"]
        assert error["file"].endswith("acme.toml") and error["field"] == "endpoints.1.max_in_flight"

        (tmp_path / "routes" / "acme.toml").write_text("org = [")
        response = await gw.client.post("/v1/admin/reload", headers=ADMIN)
        assert response.status_code == 422 and "acme.toml" in response.json()["detail"]

        assert [e["name"] for e in (await get(gw, "/v1/admin/endpoints"))["items"]] == ["a"]
        assert (await post(gw, sr("B1"))).startswith("evt_")  # the old credentials still hold


# --- state transitions through the API -----------------------------------------------


async def test_disable_parks_enable_resumes_retry_only_failed(env: Env, sink: Sink, tmp_path: Path) -> None:
    async with env({"hook": sink.url()}) as gw:
        await post(gw, sr("S1"))
        disabled = await gw.client.post("/v1/admin/endpoints/acme/hook/disable", headers=ADMIN)
        assert disabled.json() == {"org": "acme", "name": "hook", "disabled": True}
        (parked,) = (await get(gw, "/v1/admin/deliveries", state="parked"))["items"]
        await gw.state.dispatcher.run_until_idle()
        assert sink.received == []
        conflict = await gw.client.post(f"/v1/admin/deliveries/{parked['id']}/retry", headers=ADMIN)
        assert conflict.status_code == 409
        await gw.client.post("/v1/admin/endpoints/acme/hook/enable", headers=ADMIN)
        assert [d["id"] for d in (await get(gw, "/v1/admin/deliveries", state="pending"))["items"]] == [parked["id"]]
        await gw.state.dispatcher.run_until_idle()
        assert len(sink.received) == 1
        (done,) = (await get(gw, "/v1/admin/deliveries", state="delivered"))["items"]
        assert done["id"] == parked["id"]
    with sqlite3.connect(tmp_path / "gateway.db") as conn:
        assert conn.execute("SELECT count(*) FROM attempts").fetchone() == (1,)
