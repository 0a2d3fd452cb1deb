"""Returns (SPEC §9): recording returns, RETURN_CREATED, and QC results back to their system."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from gateway.api.returns_models import CreateReturnOrder, ProcessingUpdate
from gateway.dispatch.dispatcher import Target
from gateway.errors import Unprocessable
from gateway.keyedlock import KeyedLocks
from gateway.logs import get_logger
from gateway.models import InboundEvent, Item, NotificationType, ShipmentType, Source
from gateway.state import AppState, ReturnAwbGenerator
from gateway.store.base import IngestedEvent, ReturnRecord
from gateway.store.sqlite_returns import RETURNS_SYSTEM_PREFIX
from gateway.values import timestamp

log = get_logger("gateway.returns")


@dataclass(frozen=True, slots=True)
class GeneratedAwb:
    awb: str
    transporter: str | None


_locks: KeyedLocks[tuple[str, str]] = KeyedLocks()


def return_json(record: ReturnRecord) -> dict[str, object]:
    return {
        "returnOrderCode": record.return_order_code,
        "forwardOrderCode": record.forward_order_code,
        "awbNumber": record.awb,
        "transporter": record.transporter,
        "returnsSystem": record.returns_system,
        "eventId": record.event_id,
        "qcStatus": record.qc_status,
    }


async def create_return(
    state: AppState,
    org: str,
    body: CreateReturnOrder,
    returns_system: str | None,
    generate_awb: ReturnAwbGenerator | None,
) -> tuple[ReturnRecord, bool]:
    """Record the return and emit RETURN_CREATED once per ``returnOrderCode``."""
    code, forward = body.return_code(), body.forward_code()
    problems = [
        {"field": field, "message": "is required"}
        for field, value in (("returnOrderCode", code), ("forwardOrderCode", forward), ("orderItems", body.items()))
        if not value
    ]
    if problems or code is None:
        raise Unprocessable("the return lacks what identifies it", errors=problems)
    # One request per code at a time in this process; across processes the store's
    # first-wins insert and the event's dedupe key keep it to one return and one event.
    async with _locks.hold((org, code)):
        existing = await state.store.get_return(org, code)
        if existing is not None:
            return existing, False
        awb, transporter = body.awbNumber, body.transporter
        if not awb and generate_awb is not None:
            generated = await generate_awb(state, org, body)
            if generated is not None:
                awb, transporter = generated.awb, transporter or generated.transporter
        order_time = timestamp(body.returnOrderTime)
        event = InboundEvent(
            source=Source.RETURNS,
            notification_type=NotificationType.RETURN_CREATED,
            shipment_type=ShipmentType.RETURN,
            raw_status=NotificationType.RETURN_CREATED.value,
            raw_code=NotificationType.RETURN_CREATED.value,
            status_time=order_time,
            status_time_raw=body.returnOrderTime,
            awb=awb,
            return_awb=awb,
            return_order_id=code,
            forward_order_code=forward,
            transporter=transporter,
            warehouse_code=body.locationCode or body.warehouseCode,
            return_order_time=order_time,
            items=tuple(Item(sku=sku, quantity=qty, item_id=item_id) for item_id, sku, qty in body.items()),
            raw=body.model_dump(mode="json", exclude_none=True),
        )
        result = await state.ingestor.ingest(org, [event])
        state.notify_new_work()
        outcome = result.outcomes[0]
        record = ReturnRecord(
            org=org,
            return_order_code=code,
            forward_order_code=forward,
            returns_system=returns_system,
            awb=awb,
            transporter=transporter,
            leg_id=outcome.leg_id,
            event_id=outcome.event_id,
            qc_status=None,
            created_at=state.clock.now(),
        )
        stored, new = await state.store.save_return(record)
    log.info(
        "returns.created" if new else "returns.repeated",
        org=org,
        return_order_code=code,
        returns_system=returns_system,
        awb=awb,
        event_id=stored.event_id,
    )
    return stored, new


async def record_clickpost_returns(
    state: AppState, org: str, events: Sequence[InboundEvent], outcomes: Sequence[IngestedEvent]
) -> None:
    """ClickPost return webhooks record their return, with ClickPost as its returns system.

    Its code is ClickPost's return reference when the webhook carries one, else the return
    AWB, else (code 101, before an AWB exists) the forward AWB.
    """
    for event, outcome in zip(events, outcomes, strict=True):
        if event.shipment_type is not ShipmentType.RETURN or outcome.duplicate:
            continue
        code = event.return_order_id or event.return_awb or event.awb or event.forward_awb
        if code is None:
            continue
        _, new = await state.store.save_return(
            ReturnRecord(
                org=org,
                return_order_code=code,
                forward_order_code=event.forward_order_code,
                returns_system="clickpost",
                awb=event.return_awb or event.awb,
                transporter=event.courier_name,
                leg_id=outcome.leg_id,
                event_id=outcome.event_id,
                qc_status=None,
                created_at=state.clock.now(),
            )
        )
        if new:
            log.info(
                "returns.created",
                org=org,
                return_order_code=code,
                returns_system="clickpost",
                event_id=outcome.event_id,
            )


def qc_summary(update: ProcessingUpdate) -> str:
    statuses = {item.qcStatus for item in update.orderItems}
    return statuses.pop() if len(statuses) == 1 else "PARTIAL"


async def accept_processing_update(
    state: AppState, org: str, record: ReturnRecord, update: ProcessingUpdate
) -> tuple[str, int]:
    """Store the QC result and queue it for the return's system; return (webhook id, delivery id)."""
    system = record.returns_system
    routes = state.routes.get(org)
    if system is None:
        raise Unprocessable(f"return {record.return_order_code!r} has no returns system to send QC results to")
    if routes is None or system not in routes.returns_systems:
        raise Unprocessable(f"org {org!r} has no [returns_systems.{system}] configured")
    body = orjson.dumps(
        {
            "returnOrderCode": record.return_order_code,
            "forwardOrderCode": update.forwardOrderCode or record.forward_order_code,
            "locationCode": update.locationCode,
            "orderItems": [item.model_dump() for item in update.orderItems],
        }
    )
    webhook_id = f"qc_{uuid.uuid4().hex}"
    delivery_id = await state.store.add_processing_update(
        org, record.return_order_code, system, qc_summary(update), body, webhook_id, state.clock.now()
    )
    state.notify_new_work()
    log.info(
        "returns.processing_update",
        org=org,
        return_order_code=record.return_order_code,
        returns_system=system,
        event_id=webhook_id,
        delivery_id=delivery_id,
    )
    return webhook_id, delivery_id


def returns_system_targets(state: AppState) -> dict[tuple[str, str], Target]:
    """Dispatcher targets for every org's ``[returns_systems.*]`` (see Dispatcher.extra_targets)."""
    return {
        (routes.org, RETURNS_SYSTEM_PREFIX + name): Target(system.url, system.headers, (), 16, None)
        for routes in state.routes
        for name, system in routes.returns_systems.items()
    }
