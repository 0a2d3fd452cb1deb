"""The proxy's promises whatever the aggregator: one AWB per shipment, AWB_GENERATED,
errors mapped to 422/501/502/504, API keys, validation, and no secret in any log."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from proxysupport import SECRETS, label_body, proxy_env, return_body
from structlog.testing import capture_logs

from gateway.clock import ManualClock
from gateway.errors import StoreUnavailable

ADHOC = "/v1/external/orders/create/adhoc"


async def test_the_same_label_twice_makes_one_upstream_order(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        first = await env.post("labels", label_body())
        second = await env.post("labels", label_body(courierId="24"))
        assert first.status_code == second.status_code == 200
        assert second.json() == first.json()
        assert second.headers["idempotent-replayed"] == "true"
        assert len(env.shiprocket.to(ADHOC)) == 1
        # Another shipment of the same order is another AWB.
        other = await env.post("labels", label_body(code="S2"))
        assert other.json()["awb"] != first.json()["awb"]


async def test_twenty_concurrent_identical_labels_make_one_upstream_call(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        await env.post(
            "couriers/recommendation",
            {"pickupPincode": "1", "dropPincode": "2", "deliveryType": "FORWARD", "isCod": False},
        )
        env.shiprocket.hold = asyncio.Event()
        tasks = [asyncio.create_task(env.post("labels", label_body())) for _ in range(20)]
        key = ("acme", "label", "ORD-1001", "S1")
        for _ in range(2000):  # bounded: until every request waits on the one flight
            if env.gw.state.proxy and env.gw.state.proxy.flights.waiting(key) == 20:
                break
            await asyncio.sleep(0)
        env.shiprocket.hold.set()
        responses = await asyncio.gather(*tasks)
        assert {r.status_code for r in responses} == {200}
        assert len({r.json()["awb"] for r in responses}) == 1
        assert len(env.shiprocket.to(ADHOC)) == 1
        assert sum(1 for r in responses if "idempotent-replayed" not in r.headers) == 1


async def test_a_label_and_a_return_awb_emit_awb_generated(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        label = (await env.post("labels", label_body())).json()
        ret = (await env.post("return-awbs", return_body())).json()
        await env.post("labels", label_body())  # a replay emits nothing more
        forward = (await env.gw.shipment("acme", label["awb"])).json()["legs"]
        assert [(leg["shipmentType"], leg["currentStatus"]) for leg in forward] == [("FORWARD", "AWB_GENERATED")]
        assert [(h["source"], h["rawStatus"]) for h in forward[0]["history"]] == [("gateway", "AWB_GENERATED")]
        back = (await env.gw.shipment("acme", ret["awb"])).json()["legs"]
        assert [(leg["shipmentType"], leg["returnOrderId"]) for leg in back] == [("RETURN", "RET-2001")]
        deliveries = await env.gw.state.store.deliveries(org="acme", endpoint="all", state=None, after_id=0, limit=10)
        assert len(deliveries) == 2


async def test_awb_generated_lost_to_a_store_failure_is_emitted_by_the_retry(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with proxy_env(tmp_path, clock) as env:
        ingestor = env.gw.state.ingestor
        real = ingestor.ingest
        failures = [StoreUnavailable("the store is unavailable; nothing was acknowledged")]

        async def flaky(org: str, events: Any) -> Any:
            if failures:
                raise failures.pop()
            return await real(org, events)

        monkeypatch.setattr(ingestor, "ingest", flaky)
        first = await env.post("labels", label_body())
        assert first.status_code == 503  # the label is saved, its event is not
        for _ in range(2):  # the caller retries; a second retry changes nothing more
            again = await env.post("labels", label_body())
            assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
        legs = (await env.gw.shipment("acme", again.json()["awb"])).json()["legs"]
        assert [h["rawStatus"] for h in legs[0]["history"]] == ["AWB_GENERATED"]
        deliveries = await env.gw.state.store.deliveries(org="acme", endpoint="all", state=None, after_id=0, limit=10)
        assert len(deliveries) == 1
        assert len(env.shiprocket.to(ADHOC)) == 1


@pytest.mark.parametrize(
    ("alias", "fake"),
    [("sr-main", "shiprocket"), ("sw-main", "shipway"), ("cp-main", "clickpost"), ("narvar", "magic")],
)
async def test_garbage_is_502_and_down_is_502(tmp_path: Path, clock: ManualClock, alias: str, fake: str) -> None:
    async with proxy_env(tmp_path, clock) as env:
        getattr(env, fake).mode = "garbage"
        garbage = await env.post("labels", label_body(courierId="5", accountAlias=alias))
        getattr(env, fake).mode = "down"
        down = await env.post("labels", label_body(courierId="5", accountAlias=alias))
        assert (garbage.status_code, down.status_code) == (502, 502)
        assert fake in garbage.json()["detail"]
        # Nothing was stored: the next try asks again.
        getattr(env, fake).mode = None
        assert (await env.post("labels", label_body(courierId="5", accountAlias=alias))).status_code == 200


async def test_a_hanging_aggregator_is_504_at_the_deadline(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock, proxy_timeout="300ms") as env:
        env.clickpost.mode = "hang"
        started = time.monotonic()
        response = await env.post("labels", label_body(accountAlias="cp-main"))
        elapsed = time.monotonic() - started
        assert response.status_code == 504
        assert "clickpost" in response.json()["detail"]
        assert 0.3 <= elapsed < 1.5


async def test_no_or_wrong_api_key_is_401_and_nothing_goes_upstream(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        none = await env.post("labels", label_body(), headers={})
        wrong = await env.post("labels", label_body(), headers={"authorization": "Bearer nope-nope-nope"})
        get = await env.gw.client.get("/v1/acme/labels/1")
        assert (none.status_code, wrong.status_code, get.status_code) == (401, 401, 401)
        unknown_org = await env.gw.client.post("/v1/zeta/labels", json=label_body())
        assert unknown_org.status_code == 404
        assert not env.shiprocket.calls


async def test_a_bad_body_is_422_naming_the_fields(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        body = label_body()
        del body["dropAddress"]["zip"]
        body["orderDetails"]["paymentType"] = "CARD"
        response = await env.post("labels", body)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields == {"dropAddress.zip", "orderDetails.paymentType"}
        no_reason = await env.post("return-awbs", label_body())
        assert {e["field"] for e in no_reason.json()["errors"]} == {"returnReason"}
        unknown = await env.post("labels", label_body(accountAlias="nope"))
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "accountAlias"
        assert (
            await env.gw.client.post(
                "/v1/acme/labels", content=b"{", headers={"authorization": "Bearer acme-oms-key-0001"}
            )
        ).status_code == 400
        assert not env.shiprocket.calls


async def test_an_unknown_label_id_is_404_from_the_aggregator(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        response = await env.get("labels/424242")
        assert response.status_code == 404
        assert response.json()["detail"] == "shiprocket: Shipment not found"


async def test_no_configured_secret_reaches_the_logs(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # As gateway.logs.configure() sets them in every process: httpx logs whole URLs.
    caplog.set_level(logging.WARNING, logger="httpx")
    caplog.set_level(logging.WARNING, logger="httpcore")
    with capture_logs() as events:
        async with proxy_env(tmp_path, clock) as env:
            for alias in ("sr-main", "sw-main", "cp-main", "narvar"):
                await env.post("labels", label_body(f"ORD-{alias}", courierId="5", accountAlias=alias))
                await env.post("return-awbs", return_body(f"RET-{alias}", accountAlias=alias))
                await env.post(
                    "couriers/recommendation",
                    {
                        "pickupPincode": "1",
                        "dropPincode": "2",
                        "deliveryType": "FORWARD",
                        "isCod": False,
                        "accountAlias": alias,
                    },
                )
            env.shiprocket.expire_tokens()
            env.clickpost.mode = "refuse"
            await env.post("labels", label_body("ORD-X", accountAlias="cp-main"))
            tokens = [c.headers.get("authorization", "") for c in env.shiprocket.calls]
    calls = [e for e in events if e["event"] == "proxy.call"]
    assert {e["aggregator"] for e in calls} == {"shiprocket", "shipway", "clickpost", "magic"}
    assert all({"org", "aggregator", "operation", "status", "duration_ms"} <= e.keys() for e in calls)
    text = repr(events) + caplog.text
    for secret in (*SECRETS, *(t.removeprefix("Bearer ") for t in tokens if t)):
        assert secret not in text


async def test_a_generation_under_way_in_another_process_answers_409_and_books_nothing(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with proxy_env(tmp_path, clock) as env:
        store, now = env.gw.state.store, clock.now()
        # Another worker took the claim and is asking the aggregator right now.
        assert await store.claim_label("acme", "return_awb", "RET-2001", "R1", "other-worker", now, now + 60)
        busy = await env.post("return-awbs", return_body())
        assert busy.status_code == 409, busy.text
        assert busy.headers["retry-after"] == "5"
        assert busy.headers["content-type"].startswith("application/problem+json")
        assert env.shiprocket.calls == []
        await store.release_label_claim("acme", "return_awb", "RET-2001", "R1", "other-worker")
        done = await env.post("return-awbs", return_body())
        assert done.status_code == 200, done.text
        assert "idempotent-replayed" not in done.headers  # generated now, by this request
        # Our own claim is given back once the result is stored.
        assert await store.claim_label("acme", "return_awb", "RET-2001", "R1", "later", now, now + 60)


async def test_a_holder_that_died_frees_the_key_when_its_claim_runs_out(tmp_path: Path, clock: ManualClock) -> None:
    async with proxy_env(tmp_path, clock) as env:
        store, now = env.gw.state.store, clock.now()
        assert await store.claim_label("acme", "return_awb", "RET-2001", "R1", "dead-worker", now, now + 60)
        assert (await env.post("return-awbs", return_body())).status_code == 409
        clock.advance(61)
        assert (await env.post("return-awbs", return_body())).status_code == 200
