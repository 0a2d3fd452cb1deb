"""Values for the store contract tests: events, jobs, endpoint configs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from gateway.models import InboundEvent, NotificationType, ShipmentType, Source
from gateway.routing import EndpointConfig
from gateway.store.base import IngestedEvent, IngestJob, Store

T0 = 1_750_000_000.0
_ids = itertools.count(1)


def event(
    awb: str | None = "AWB1",
    ntype: NotificationType = NotificationType.IN_TRANSIT,
    at: float = T0,
    *,
    code: str | None = "18",
    stype: ShipmentType = ShipmentType.FORWARD,
    **extra: Any,
) -> InboundEvent:
    return InboundEvent(
        source=Source.SHIPROCKET,
        notification_type=ntype,
        shipment_type=stype,
        raw_status=ntype.value.replace("_", " "),
        raw_code=code,
        status_time=datetime.fromtimestamp(at, UTC),
        status_time_raw=f"t{at:.0f}",
        awb=awb,
        **extra,
    )


def job(*events: InboundEvent, org: str = "acme", received_at: float = T0 + 100) -> IngestJob:
    return IngestJob(
        org=org, events=events, event_ids=[f"evt_{next(_ids):08d}" for _ in events], received_at=received_at
    )


def endpoint(name: str, **kw: Any) -> EndpointConfig:
    return EndpointConfig(name=name, url=f"http://127.0.0.1:9/{name}", **kw)


async def ingest_one(store: Store, ev: InboundEvent, *, org: str = "acme", at: float = T0 + 100) -> IngestedEvent:
    [outcome] = await store.ingest([job(ev, org=org, received_at=at)])
    assert not isinstance(outcome, BaseException), outcome
    [result] = outcome
    return result
