"""Deliveries from the real app to real HTTP sinks on 127.0.0.1, time driven by a manual clock."""

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
from sinks import Sink, SinkFactory
from standardwebhooks import Webhook
from structlog.testing import capture_logs
from support import Gateway

from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.dispatch.sender import Sender
from gateway.routing import load_routes
from gateway.settings import load_settings

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24="
ADMIN = {"authorization": "Bearer dev-admin-token"}


def routes_toml(endpoints: dict[str, str], extra: str = "") -> str:
    blocks = "".join(
        f'\n[[endpoints]]\nname = "{name}"\nurl = "{url}"\n'
        f'headers = {{ authUsername = "acme", authPassword = "push-pass-0001" }}\n'
        f'secret = ["{SECRET}", "{OLD_SECRET}"]\n{extra}'
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


DeliveryEnv = Callable[..., contextlib.AbstractAsyncContextManager[Gateway]]


@pytest.fixture
def delivery_env(tmp_path: Path, clock: ManualClock) -> DeliveryEnv:
    @contextlib.asynccontextmanager
    async def make(
        endpoints: dict[str, str], *, extra: str = "", env: dict[str, str] | None = None, allow_private: bool = True
    ) -> AsyncIterator[Gateway]:
        routes = tmp_path / "routes"
        routes.mkdir(exist_ok=True)
        (routes / "acme.toml").write_text(routes_toml(endpoints, extra))
        settings = load_settings(
            None,
            {
                "GATEWAY_STORE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
                "GATEWAY_DELIVERY_RETRY_SCHEDULE": '["1s", "2s", "3s"]',
                "GATEWAY_DELIVERY_JITTER": "0",
                "GATEWAY_DELIVERY_TIMEOUT": "1s",
                "GATEWAY_DELIVERY_LEASE": "6s",
                **(env or {}),
            },
        )
        app = create_app(
            settings,
            load_routes(routes, env={}),
            clock=clock,
            sender=Sender(allow_private=allow_private),
            run_dispatcher=False,
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


def failing(times: int, status: int = 500, headers: dict[str, str] | None = None) -> Any:
    count = {"n": 0}

    async def handler(request: web.Request) -> web.StreamResponse:
        count["n"] += 1
        if count["n"] <= times:
            return web.Response(status=status, headers=headers, text="nope")
        return web.Response(text="ok")

    return handler


def rows(gw: Gateway, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    path = gw.state.store.path  # type: ignore[attr-defined]
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchall()


async def test_signed_push_with_configured_headers_and_webhook_id(delivery_env: DeliveryEnv, sink: Sink) -> None:
    async with delivery_env({"shopify": sink.url()}) as gw:
        accepted = (await gw.webhook("acme", "shiprocket", sr("W1"))).json()
        await gw.state.dispatcher.run_until_idle()
    assert len(sink.received) == 1
    request = sink.received[0]
    event_id = accepted["eventIds"][0]
    assert request.headers["webhook-id"] == event_id
    assert request.headers["authUsername"] == "acme" and request.headers["authPassword"] == "push-pass-0001"
    assert request.headers["content-type"] == "application/json"
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (SECRET, OLD_SECRET):  # each active secret verifies on its own (rotation)
        Webhook(secret).verify(request.body, dict(request.headers))
    envelope = json.loads(request.body)
    assert envelope["eventId"] == event_id and envelope["org"] == "acme"
    assert envelope["notificationType"] == "IN_TRANSIT" and envelope["shipmentType"] == "FORWARD"
    assert envelope["forwardAwb"] == "W1" and envelope["forwardOrderCode"] == "O-W1"
    assert envelope["notificationUpdateTime"] == 1741923000  # 14 Mar 2025 09:00 IST
    assert envelope["returnOrderInfo"] is None and envelope["stale"] is False
    assert envelope["logisticAggregatorInfo"]["logisticAggregatorName"] == "SHIPROCKET"


async def test_fails_twice_then_succeeds_with_the_same_webhook_id(
    delivery_env: DeliveryEnv, sink: Sink, clock: ManualClock
) -> None:
    sink.routes["/hook"] = failing(2)
    async with delivery_env({"shopify": sink.url()}) as gw:
        await gw.webhook("acme", "shiprocket", sr("R1"))
        await gw.state.dispatcher.run_until_idle()
        assert len(sink.received) == 1
        clock.advance(0.9)
        await gw.state.dispatcher.run_until_idle()
        assert len(sink.received) == 1  # not before the first retry delay (1 s)
        clock.advance(0.1)
        await gw.state.dispatcher.run_until_idle()
        clock.advance(2)
        await gw.state.dispatcher.run_until_idle()
        state = rows(gw, "SELECT state, attempt_count FROM deliveries")
        attempts = rows(gw, "SELECT status_code FROM attempts ORDER BY id")
    assert [r.headers["webhook-id"] for r in sink.received] == [sink.received[0].headers["webhook-id"]] * 3
    assert state == [("delivered", 3)]
    assert attempts == [(500,), (500,), (200,)]


async def test_always_failing_ends_failed_and_replay_delivers_once_more(
    delivery_env: DeliveryEnv, sink: Sink, clock: ManualClock
) -> None:
    sink.routes["/hook"] = failing(1000)
    async with delivery_env({"shopify": sink.url()}) as gw:
        with capture_logs() as logs:
            await gw.webhook("acme", "shiprocket", sr("F1"))
            for _ in range(6):
                await gw.state.dispatcher.run_until_idle()
                clock.advance(3)
        assert len(sink.received) == 4  # first try + 3 scheduled retries
        failed = (await gw.client.get("/v1/admin/deliveries", params={"state": "failed"}, headers=ADMIN)).json()
        assert [d["attemptCount"] for d in failed["items"]] == [4]
        assert [line["event"] for line in logs if line["event"].startswith("delivery.")] == [
            "delivery.retry",
            "delivery.retry",
            "delivery.retry",
            "delivery.failed",
        ]
        sink.routes["/hook"] = failing(0)
        retried = await gw.client.post(f"/v1/admin/deliveries/{failed['items'][0]['id']}/retry", headers=ADMIN)
        assert retried.status_code == 200 and retried.json()["state"] == "pending"
        await gw.state.dispatcher.run_until_idle()
        again = await gw.client.post(f"/v1/admin/deliveries/{failed['items'][0]['id']}/retry", headers=ADMIN)
        assert again.status_code == 409
    assert len(sink.received) == 5
    assert len({r.headers["webhook-id"] for r in sink.received}) == 1


async def test_redirect_is_a_failure_and_never_followed(delivery_env: DeliveryEnv, make_sink: SinkFactory) -> None:
    target = await make_sink()
    source = await make_sink()

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(target.url("/landing"))

    source.routes["/hook"] = redirect
    async with delivery_env({"shopify": source.url()}) as gw:
        await gw.webhook("acme", "shiprocket", sr("RD1"))
        await gw.state.dispatcher.run_until_idle()
        assert rows(gw, "SELECT state, last_status, last_error FROM deliveries") == [
            ("pending", 302, "redirect not followed (302)")
        ]
    assert len(source.received) == 1 and target.received == []


async def test_410_disables_and_parks_enable_resumes_in_order(
    delivery_env: DeliveryEnv, sink: Sink, clock: ManualClock
) -> None:
    sink.routes["/hook"] = failing(1, status=410)
    async with delivery_env({"shopify": sink.url()}) as gw:
        with capture_logs() as logs:
            await gw.webhook("acme", "shiprocket", sr("G1", minute=1))
            await gw.state.dispatcher.run_until_idle()
        assert any(line["event"] == "endpoint.disabled" for line in logs)
        for minute in range(2, 5):
            await gw.webhook("acme", "shiprocket", sr("G1", minute=minute))
        await gw.webhook("acme", "shiprocket", sr("G2", minute=1))
        clock.advance(60)
        await gw.state.dispatcher.run_until_idle()
        assert len(sink.received) == 1
        parked = (await gw.client.get("/v1/admin/deliveries?state=parked", headers=ADMIN)).json()["items"]
        assert len(parked) == 5
        enabled = await gw.client.post("/v1/admin/endpoints/acme/shopify/enable", headers=ADMIN)
        assert enabled.json() == {"org": "acme", "name": "shopify", "disabled": False}
        await gw.state.dispatcher.run_until_idle()
    times = [
        json.loads(r.body)["notificationUpdateTime"] for r in sink.received if json.loads(r.body)["forwardAwb"] == "G1"
    ]
    assert times == sorted(times) and len(times) == 5  # the 410'd one again, then the rest in order


async def test_retry_after_delays_the_next_attempt(delivery_env: DeliveryEnv, sink: Sink, clock: ManualClock) -> None:
    sink.routes["/hook"] = failing(1, status=429, headers={"Retry-After": "2"})
    async with delivery_env({"shopify": sink.url()}) as gw:
        await gw.webhook("acme", "shiprocket", sr("RA1"))
        await gw.state.dispatcher.run_until_idle()
        clock.advance(1.99)  # the schedule alone would retry after 1 s
        await gw.state.dispatcher.run_until_idle()
        assert len(sink.received) == 1
        clock.advance(0.01)
        await gw.state.dispatcher.run_until_idle()
    assert len(sink.received) == 2


async def test_hundred_updates_of_one_awb_arrive_in_order_despite_failures(
    delivery_env: DeliveryEnv, sink: Sink, clock: ManualClock
) -> None:
    count = {"n": 0}

    async def flaky(request: web.Request) -> web.StreamResponse:
        count["n"] += 1
        return web.Response(status=503 if count["n"] % 3 == 0 else 200)

    sink.routes["/hook"] = flaky
    async with delivery_env({"shopify": sink.url()}) as gw:
        accepted = []
        for minute in range(100):
            accepted += (await gw.webhook("acme", "shiprocket", sr("ORD1", minute=minute))).json()["eventIds"]
        for _ in range(200):
            await gw.state.dispatcher.run_until_idle()
            if not rows(gw, "SELECT 1 FROM deliveries WHERE state != 'delivered'"):
                break
            clock.advance(1)
    delivered = [r.headers["webhook-id"] for r in sink.received]
    first_success: list[str] = []
    for event_id in delivered:
        if event_id not in first_success:
            first_success.append(event_id)
    assert first_success == accepted
    # An event is re-sent only after its own failure: never an earlier one after a later.
    assert [e for i, e in enumerate(delivered) if i == 0 or e != delivered[i - 1]] == accepted


async def test_a_hanging_endpoint_does_not_hold_up_a_healthy_one(
    delivery_env: DeliveryEnv, make_sink: SinkFactory
) -> None:
    import asyncio

    healthy, hanging = await make_sink(), await make_sink()
    release: list[asyncio.Future[None]] = []
    holding = True
    healthy_done, hanging_done = asyncio.Event(), asyncio.Event()

    async def hang(request: web.Request) -> web.StreamResponse:
        if holding:
            waiter = asyncio.get_running_loop().create_future()
            release.append(waiter)
            await waiter
        if len(hanging.received) == 40:
            hanging_done.set()
        return web.Response()

    async def count(request: web.Request) -> web.StreamResponse:
        if len(healthy.received) == 40:
            healthy_done.set()
        return web.Response(text="ok")

    hanging.routes["/hook"] = hang
    healthy.routes["/hook"] = count
    async with delivery_env(
        {"healthy": healthy.url(), "hanging": hanging.url()},
        env={"GATEWAY_DELIVERY_TIMEOUT": "30s", "GATEWAY_DELIVERY_LEASE": "40s"},
    ) as gw:
        for i in range(40):
            await gw.webhook("acme", "shiprocket", sr(f"ISO{i}"))
        dispatcher = gw.state.dispatcher
        dispatcher.start()  # its own loop: claims again as slots free up
        await asyncio.wait_for(healthy_done.wait(), 20)
        # Every healthy delivery went out while the hanging endpoint held all its slots.
        assert len(healthy.received) == 40
        assert len(hanging.received) == 16  # max_in_flight: the rest wait their turn
        assert len(release) == 16
        holding = False
        for waiter in release:
            waiter.set_result(None)
        await asyncio.wait_for(hanging_done.wait(), 20)  # then the rest go out
        assert len(healthy.received) == 40


async def test_a_disabled_endpoint_gets_nothing_that_was_claimed_ahead_for_it(
    delivery_env: DeliveryEnv, sink: Sink
) -> None:
    import asyncio

    release: list[asyncio.Future[None]] = []
    holding = True
    four_held = asyncio.Event()

    async def hold(request: web.Request) -> web.StreamResponse:
        if holding:
            waiter = asyncio.get_running_loop().create_future()
            release.append(waiter)
            if len(release) == 4:
                four_held.set()
            await waiter
        return web.Response()

    sink.routes["/hook"] = hold
    async with delivery_env({"shopify": sink.url()}, extra="max_in_flight = 4\n") as gw:
        for i in range(10):
            await gw.webhook("acme", "shiprocket", sr(f"AH{i}"))
        dispatcher = gw.state.dispatcher
        await dispatcher.refresh_endpoints()
        assert await dispatcher.tick() == 5  # four sent, one claimed ahead
        await asyncio.wait_for(four_held.wait(), 10)
        disabled = await gw.client.post("/v1/admin/endpoints/acme/shopify/disable", headers=ADMIN)
        assert disabled.status_code == 200
        holding = False
        for waiter in release:
            waiter.set_result(None)
        await dispatcher.run_until_idle()
        assert len(sink.received) == 4  # the one claimed ahead was not sent
        states = [d["state"] for d in (await gw.client.get("/v1/admin/deliveries", headers=ADMIN)).json()["items"]]
        assert sorted(states) == ["delivered"] * 4 + ["parked"] * 6
        await gw.client.post("/v1/admin/endpoints/acme/shopify/enable", headers=ADMIN)
        await dispatcher.run_until_idle()
    awbs = [json.loads(r.body)["forwardAwb"] for r in sink.received]
    assert sorted(awbs) == sorted(f"AH{i}" for i in range(10))  # each once


async def test_private_destination_is_refused_without_a_packet(delivery_env: DeliveryEnv, sink: Sink) -> None:
    async with delivery_env({"shopify": sink.url()}, allow_private=False) as gw:
        await gw.webhook("acme", "shiprocket", sr("P1"))
        await gw.state.dispatcher.run_until_idle()
        [(error,)] = rows(gw, "SELECT last_error FROM deliveries")
    assert error.startswith("destination refused")
    assert sink.received == []


async def test_disable_after_without_success(delivery_env: DeliveryEnv, sink: Sink, clock: ManualClock) -> None:
    sink.routes["/hook"] = failing(1000)
    env = {"GATEWAY_DELIVERY_DISABLE_AFTER": "2s", "GATEWAY_DELIVERY_RETRY_SCHEDULE": '["1s","1s","1s","1s"]'}
    async with delivery_env({"shopify": sink.url()}, env=env) as gw:
        await gw.webhook("acme", "shiprocket", sr("DA1"))
        for _ in range(4):
            await gw.state.dispatcher.run_until_idle()
            clock.advance(1)
        await gw.webhook("acme", "shiprocket", sr("DA2"))
        states = dict(rows(gw, "SELECT shipment_key, state FROM deliveries"))
    assert len(sink.received) == 3  # attempts at t=0, 1, 2; the third disabled it
    assert set(states.values()) == {"parked"}


async def test_admin_routes_need_the_admin_token(delivery_env: DeliveryEnv, sink: Sink) -> None:
    async with delivery_env({"shopify": sink.url()}) as gw:
        for method, path in [
            ("GET", "/v1/admin/deliveries"),
            ("POST", "/v1/admin/deliveries/1/retry"),
            ("POST", "/v1/admin/endpoints/acme/shopify/disable"),
        ]:
            response = await gw.client.request(method, path, headers={"authorization": "Bearer nope"})
            assert response.status_code == 401
        assert (await gw.client.post("/v1/admin/endpoints/acme/none/disable", headers=ADMIN)).status_code == 404
        assert (await gw.client.post("/v1/admin/deliveries/999/retry", headers=ADMIN)).status_code == 404
        assert (await gw.client.get("/v1/admin/deliveries?state=bogus", headers=ADMIN)).status_code == 400


async def test_recover_requeues_failed_deliveries_in_the_window(
    delivery_env: DeliveryEnv, sink: Sink, clock: ManualClock
) -> None:
    sink.routes["/hook"] = failing(6)  # 3 events x 2 attempts
    env = {"GATEWAY_DELIVERY_RETRY_SCHEDULE": '["1s"]'}
    async with delivery_env({"shopify": sink.url()}, env=env) as gw:
        for i in range(3):
            await gw.webhook("acme", "shiprocket", sr(f"RC{i}"))
        for _ in range(3):
            await gw.state.dispatcher.run_until_idle()
            clock.advance(1)
        assert rows(gw, "SELECT count(*) FROM deliveries WHERE state = 'failed'") == [(3,)]
        from datetime import UTC, datetime

        since = datetime.fromtimestamp(clock.now() - 3600, UTC).isoformat()
        response = await gw.client.post(
            "/v1/admin/endpoints/acme/shopify/recover", json={"since": since}, headers=ADMIN
        )
        assert response.json()["requeued"] == 3
        await gw.state.dispatcher.run_until_idle()
        assert rows(gw, "SELECT count(*) FROM deliveries WHERE state = 'delivered'") == [(3,)]
        bad = await gw.client.post(
            "/v1/admin/endpoints/acme/shopify/recover", json={"since": "yesterday"}, headers=ADMIN
        )
        assert bad.status_code == 422


async def test_lost_lease_result_changes_nothing(delivery_env: DeliveryEnv, sink: Sink, clock: ManualClock) -> None:
    from gateway.store.base import AttemptRecord, Completion, Verdict

    async with delivery_env({"shopify": sink.url()}) as gw:
        await gw.webhook("acme", "shiprocket", sr("LL1"))
        store = gw.state.store
        first = await store.claim(clock.now(), {("acme", "shopify"): 1}, 6)
        clock.advance(7)  # the lease expires; another worker takes it over
        second = await store.claim(clock.now(), {("acme", "shopify"): 1}, 6)
        assert [c.id for c in second] == [c.id for c in first] and second[0].lease_token != first[0].lease_token
        late = Completion(
            first[0].id,
            first[0].lease_token,
            "acme",
            "shopify",
            Verdict.FAILED,
            AttemptRecord(clock.now(), 500, 1.0, "late", None),
        )
        assert [o.applied for o in await store.complete([late], clock.now())] == [False]
        assert rows(gw, "SELECT state, attempt_count FROM deliveries") == [("pending", 2)]


async def test_retry_after_http_date_is_read_against_the_gateway_clock(
    delivery_env: DeliveryEnv, sink: Sink, clock: ManualClock
) -> None:
    """The next attempt time is on the gateway's clock, so an HTTP-date must be too."""
    import email.utils

    async def throttled_once(request: web.Request) -> web.StreamResponse:
        if len(sink.received) == 1:
            when = email.utils.formatdate(clock.now() + 120, usegmt=True)
            return web.Response(status=503, headers={"Retry-After": when})
        return web.Response(text="ok")

    sink.routes["/hook"] = throttled_once
    async with delivery_env({"shopify": sink.url()}) as gw:
        await gw.webhook("acme", "shiprocket", sr("RD2"))
        clock.advance(3600)  # the gateway clock and the host's now differ by an hour
        await gw.state.dispatcher.run_until_idle()
        clock.advance(119)
        await gw.state.dispatcher.run_until_idle()
        assert len(sink.received) == 1
        clock.advance(1)
        await gw.state.dispatcher.run_until_idle()
    assert len(sink.received) == 2


async def test_hostile_response_charset_still_records_the_delivery(delivery_env: DeliveryEnv, sink: Sink) -> None:
    async def hex_charset(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"thanks \xff", headers={"Content-Type": "text/plain; charset=hex"})

    sink.routes["/hook"] = hex_charset
    async with delivery_env({"shopify": sink.url()}) as gw:
        await gw.webhook("acme", "shiprocket", sr("CS1"))
        await gw.state.dispatcher.run_until_idle()
        assert rows(gw, "SELECT state FROM deliveries") == [("delivered",)]
        [(excerpt,)] = rows(gw, "SELECT response_excerpt FROM attempts")
    assert isinstance(excerpt, str) and excerpt.startswith("thanks")


async def test_an_unstorable_response_excerpt_does_not_sink_other_endpoints(
    delivery_env: DeliveryEnv, make_sink: SinkFactory, clock: ManualClock
) -> None:
    """Completions are written in batches: one receiver's odd answer must not lose the others'."""
    healthy, odd = await make_sink(), await make_sink()

    async def lone_surrogate(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"ok +2AA-", headers={"Content-Type": "text/plain; charset=utf-7"})

    odd.routes["/hook"] = lone_surrogate
    async with delivery_env({"healthy": healthy.url(), "odd": odd.url()}) as gw:
        await gw.webhook("acme", "shiprocket", sr("US1"))
        await gw.state.dispatcher.run_until_idle()
        clock.advance(60)  # past every lease: an unrecorded outcome would be sent again
        await gw.state.dispatcher.run_until_idle()
        assert rows(gw, "SELECT endpoint, state FROM deliveries ORDER BY endpoint") == [
            ("healthy", "delivered"),
            ("odd", "delivered"),
        ]
    assert len(healthy.received) == 1 and len(odd.received) == 1


async def test_410_from_a_returns_system_is_retried_not_parked_for_good(
    delivery_env: DeliveryEnv, make_sink: SinkFactory, clock: ManualClock
) -> None:
    """A returns system has no endpoint to disable and enable: parking its delivery would strand it."""
    shopify, rp = await make_sink(), await make_sink()
    rp.routes["/qc"] = failing(1, status=410)
    extra = f'\n[returns_systems.rp]\nurl = "{rp.url("/qc")}"\n'
    async with delivery_env({"shopify": shopify.url()}, extra=extra) as gw:
        await gw.state.store.add_processing_update("acme", "RET1", "rp", "PASS", b"{}", "qc_1", clock.now())
        await gw.state.dispatcher.run_until_idle()
        assert rows(gw, "SELECT state, last_status FROM deliveries") == [("pending", 410)]
        clock.advance(1)
        await gw.state.dispatcher.run_until_idle()
        assert rows(gw, "SELECT state FROM deliveries") == [("delivered",)]
    assert len(rp.received) == 2
