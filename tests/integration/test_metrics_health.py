"""``GET /metrics`` names and labels (SPEC §11), ``/healthz`` and ``/readyz``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sinks import Sink
from support import Gateway

from gateway.app import create_app
from gateway.clock import ManualClock
from gateway.dispatch.sender import Sender
from gateway.routing import load_routes
from gateway.settings import load_settings

Env = Callable[..., contextlib.AbstractAsyncContextManager[Gateway]]


@pytest.fixture
def env(tmp_path: Path, clock: ManualClock) -> Env:
    @contextlib.asynccontextmanager
    async def make(endpoints: dict[str, str], **app_options: Any) -> AsyncIterator[Gateway]:
        routes = tmp_path / "routes"
        routes.mkdir(exist_ok=True)
        blocks = "".join(f'\n[[endpoints]]\nname = "{n}"\nurl = "{u}"\n' for n, u in endpoints.items())
        (routes / "acme.toml").write_text(
            f'org = "acme"\n[sources.shiprocket]\ntokens = ["sr-acme-token-0001"]\n{blocks}'
        )
        settings = load_settings(
            None,
            {
                "GATEWAY_STORE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
                "GATEWAY_DELIVERY_RETRY_SCHEDULE": "[]",
                "GATEWAY_DELIVERY_TIMEOUT": "1s",
                "GATEWAY_DELIVERY_LEASE": "6s",
            },
        )
        app = create_app(
            settings,
            load_routes(routes, env={}),
            clock=clock,
            sender=Sender(allow_private=True),
            **{"run_dispatcher": False, **app_options},
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
                yield Gateway(app, client)

    return make


async def webhook(gw: Gateway, awb: str, *, token: str = "sr-acme-token-0001") -> httpx.Response:
    body = {
        "awb": awb,
        "shipment_status_id": 18,
        "shipment_status": "IN TRANSIT",
        "current_timestamp": "14 03 2025 09:00:00",
    }
    return await gw.client.post(
        "/v1/acme/webhooks/shiprocket",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", "x-api-key": token},
    )


async def scrape(gw: Gateway) -> dict[str, list[Sample]]:
    response = await gw.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples: dict[str, list[Sample]], name: str, **labels: str) -> float:
    found = [s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, (name, labels, samples.get(name))
    return found[0]


async def test_metrics_names_and_labels(env: Env, sink: Sink, clock: ManualClock) -> None:
    sink.routes["/down"] = server_error
    async with env({"up": sink.url("/up"), "down": sink.url("/down")}) as gw:
        assert (await webhook(gw, "M1")).status_code == 200
        assert (await webhook(gw, "M1")).status_code == 200  # a duplicate
        assert (await webhook(gw, "M2", token="wrong-token")).status_code == 401
        clock.advance(2.5)
        await gw.state.dispatcher.run_until_idle()
        assert (await webhook(gw, "M3")).status_code == 200
        clock.advance(7)
        gw.state.metrics.proxy_call("shiprocket", "generate_label", "ok", 0.2)

        m = await scrape(gw)
        assert value(m, "gateway_webhooks_total", org="acme", source="shiprocket", outcome="accepted") == 2
        assert value(m, "gateway_webhooks_total", org="acme", source="shiprocket", outcome="duplicate") == 1
        assert value(m, "gateway_webhooks_total", org="acme", source="shiprocket", outcome="rejected") == 1
        assert value(m, "gateway_deliveries_total", org="acme", endpoint="up", outcome="delivered") == 1
        assert value(m, "gateway_deliveries_total", org="acme", endpoint="down", outcome="failed") == 1
        assert value(m, "gateway_ingest_seconds_count", source="shiprocket") == 3
        assert value(m, "gateway_end_to_end_seconds_count", org="acme", endpoint="up") == 1
        assert value(m, "gateway_end_to_end_seconds_sum", org="acme", endpoint="up") == 2.5
        assert [s.labels["endpoint"] for s in m["gateway_end_to_end_seconds_count"]] == ["up"]
        assert value(m, "gateway_endpoint_backlog", org="acme", endpoint="up") == 1
        assert value(m, "gateway_endpoint_oldest_pending_age_seconds", org="acme", endpoint="up") == 7
        assert value(m, "gateway_endpoint_backlog", org="acme", endpoint="down") == 1
        labels = {"aggregator": "shiprocket", "operation": "generate_label"}
        assert value(m, "gateway_proxy_calls_total", outcome="ok", **labels) == 1
        assert value(m, "gateway_proxy_call_seconds_count", **labels) == 1

        await gw.state.dispatcher.run_until_idle()
        m = await scrape(gw)
        assert value(m, "gateway_endpoint_backlog", org="acme", endpoint="up") == 0
        assert value(m, "gateway_endpoint_oldest_pending_age_seconds", org="acme", endpoint="up") == 0


async def server_error(request: web.Request) -> web.StreamResponse:
    return web.Response(status=500)


async def test_healthz_and_readyz(env: Env) -> None:
    async with env({}, run_dispatcher=True) as gw:
        assert (await gw.client.get("/healthz")).json() == {"status": "ok"}
        assert (await gw.client.get("/readyz")).json() == {"status": "ready"}
        await gw.state.dispatcher.stop(grace=0)
        stopped = await gw.client.get("/readyz")
        assert stopped.status_code == 503 and "dispatcher" in stopped.json()["detail"]
        assert stopped.headers["retry-after"]
        assert (await gw.client.get("/healthz")).status_code == 200


async def test_readyz_is_503_when_the_store_is_unreachable(env: Env) -> None:
    async with env({}) as gw:
        assert (await gw.client.get("/readyz")).status_code == 200
        await gw.state.store.close()
        response = await gw.client.get("/readyz")
        assert response.status_code == 503 and "store" in response.json()["detail"]
        metrics = await gw.client.get("/metrics")  # still answers, without the store's gauges
        assert metrics.status_code == 200 and "gateway_webhooks_total" in metrics.text
