"""Webhooks stored by the SQLite writer process (``store.writer_process``, on by default):
answers land on the right requests, and a child that dies loses nothing it acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import Gateway, wait_until

from gateway.models import InboundEvent, NotificationType, ShipmentType, Source
from gateway.routing import EndpointConfig
from gateway.settings import Settings, load_settings
from gateway.store.base import IngestJob
from gateway.store.dbthread import writer_lock_path
from gateway.store.sqlite import SqliteStore
from gateway.store.writer_process import WriterProcess


def sr(awb: str, status_id: int = 18, label: str = "IN TRANSIT", when: str = "14 03 2025 09:00:00") -> dict[str, Any]:
    return {
        "awb": awb,
        "courier_name": "Delhivery",
        "current_status": label,
        "shipment_status": label,
        "shipment_status_id": status_id,
        "current_timestamp": when,
        "order_id": f"O-{awb}",
        "is_return": 0,
    }


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        None, {"GATEWAY_STORE_URL": f"sqlite:///{tmp_path / 'gateway.db'}", "GATEWAY_STORE_WRITER_PROCESS": "true"}
    )


@pytest.fixture
async def gateway(gateway_factory: Callable[..., Any]) -> AsyncIterator[Gateway]:
    async with gateway_factory() as gw:
        yield gw


def child_of(gw: Gateway) -> WriterProcess:
    queue = gw.state.ingestor.writer._queue  # type: ignore[union-attr]
    assert isinstance(queue, WriterProcess) and queue.running
    return queue


@contextlib.contextmanager
def writer_lock_held(db: Path) -> Iterator[None]:
    """Hold the file's writer lock, as another gateway process mid-commit would."""
    fd = os.open(writer_lock_path(db), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


async def test_concurrent_webhooks_each_get_their_own_answer(gateway: Gateway) -> None:
    child_of(gateway)
    awbs = [f"PC{i:03d}" for i in range(60)]
    responses = await asyncio.gather(*(gateway.webhook("acme", "shiprocket", sr(awb)) for awb in awbs))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    for awb, response in zip(awbs, responses, strict=True):
        [event_id] = response.json()["eventIds"]
        leg = (await gateway.shipment("acme", awb)).json()["legs"][0]
        # The answer names the event stored for this request's AWB, not a neighbour's.
        assert [h["eventId"] for h in leg["history"]] == [event_id]

    again = await gateway.webhook("acme", "shiprocket", sr("PC007"))
    assert again.json() == {"accepted": 0, "duplicates": 1, "eventIds": responses[7].json()["eventIds"]}
    older = await gateway.webhook("acme", "shiprocket", sr("PC007", 6, "SHIPPED", "13 03 2025 09:00:00"))
    assert older.status_code == 200
    leg = (await gateway.shipment("acme", "PC007")).json()["legs"][0]
    assert leg["currentStatus"] == "IN_TRANSIT"
    assert [h["stale"] for h in leg["history"]] == [False, True]


async def test_a_body_near_the_size_cap_crosses_the_pipe_whole(gateway: Gateway) -> None:
    body = sr("BIG1")
    scan = {"date": "2025-03-13 10:20:05", "activity": "x" * 200, "location": "Jaipur_Hub", "sr-status": "42"}
    body["scans"] = [scan] * 3500  # about 0.9 MB: many times a pipe's 64 KiB, read in pieces
    response = await gateway.webhook("acme", "shiprocket", body)
    assert response.status_code == 200, response.text
    [event_id] = response.json()["eventIds"]
    db: Path = gateway.state.store.path  # type: ignore[attr-defined]
    conn = sqlite3.connect(db)
    (raw,) = conn.execute("SELECT raw FROM notifications WHERE event_id = ?", (event_id,)).fetchone()
    conn.close()
    assert len(json.loads(raw)["scans"]) == 3500


async def test_a_killed_child_fails_what_it_had_not_stored_and_is_replaced(gateway: Gateway) -> None:
    child = child_of(gateway)
    child.restart_delay = 0
    db: Path = gateway.state.store.path  # type: ignore[attr-defined]
    with writer_lock_held(db):  # the child cannot commit
        pending = asyncio.ensure_future(gateway.webhook("acme", "shiprocket", sr("KILL1")))
        # A turn of the loop at a time: the parent's own code gets there, no wall-clock wait.
        await wait_until(lambda: child.in_flight == 1, timeout=5, interval=0, what="the webhook in flight")
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        response = await pending
        assert response.status_code == 503
        assert response.headers["retry-after"].isdigit()
        assert response.headers["content-type"] == "application/problem+json"
    await child.wait_running()

    # Never committed, so the aggregator's retry is new, not a duplicate.
    retried = await gateway.webhook("acme", "shiprocket", sr("KILL1"))
    assert retried.status_code == 200 and retried.json()["accepted"] == 1
    leg = (await gateway.shipment("acme", "KILL1")).json()["legs"][0]
    assert [h["eventId"] for h in leg["history"]] == retried.json()["eventIds"]


async def test_readyz_fails_while_the_child_is_down(gateway: Gateway) -> None:
    child = child_of(gateway)
    assert (await gateway.client.get("/readyz")).status_code == 200
    child.restart_delay = 3600  # stays down for the rest of the test
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    await wait_until(lambda: not child.running, timeout=10, what="the killed child noticed")
    ready = await gateway.client.get("/readyz")
    assert ready.status_code == 503 and "ingest" in ready.json()["detail"]
    response = await gateway.webhook("acme", "shiprocket", sr("DOWN1"))
    assert response.status_code == 503


async def test_close_answers_every_job_sent_before_the_child_ends(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "close.db", writer_process=True)
    await store.open()
    queue = store.ingest_queue
    assert queue is not None
    await store.sync_file_endpoints("acme", [EndpointConfig(name="oms", url="http://127.0.0.1:9/oms")])
    with writer_lock_held(store.path):  # five jobs wait in the pipe and the child
        futures = [queue.enqueue(job(f"CL{i}")) for i in range(5)]
        pid = queue.pid
    await store.close()
    outcomes = [f.result() for f in futures]
    assert [len(o) for o in outcomes if isinstance(o, list)] == [1] * 5
    assert all(not r.duplicate and r.deliveries == 1 for o in outcomes if isinstance(o, list) for r in o)
    assert pid is not None and not queue.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped: it ended with the store

    reopened = SqliteStore(tmp_path / "close.db")
    await reopened.open()
    try:
        assert [len(await reopened.shipment("acme", f"CL{i}")) for i in range(5)] == [1] * 5
    finally:
        await reopened.close()


def job(awb: str) -> IngestJob:
    event = InboundEvent(
        source=Source.SHIPROCKET,
        notification_type=NotificationType.IN_TRANSIT,
        shipment_type=ShipmentType.FORWARD,
        raw_status="IN TRANSIT",
        raw_code="18",
        status_time=None,
        status_time_raw=None,
        awb=awb,
    )
    return IngestJob(org="acme", events=[event], event_ids=[f"evt_{awb}"], received_at=1_750_000_000.0)
