"""Requests to the SQLite writer process and its answers, as bytes.

A frame is a 4-byte big-endian length and a body. A request's body is one kind byte
(``INGEST``, ``CLAIM``, ``COMPLETE``, ``RELEASE``) and orjson; an answer's is ``OK`` and the
result, or ``ERROR`` and the error's text. A claim's answer carries the deliveries' bodies
as raw bytes after its JSON, since JSON would have to re-encode them. ``pickle`` measured
18 µs to dump and 18 µs to load one 1 KB Shiprocket job, on the event loop's thread of a
process whose ceiling is that thread; this flat encoding costs a few µs each way.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson

from gateway.models import InboundEvent, Item, NotificationType, ShipmentType, Source
from gateway.store.base import (
    AttemptRecord,
    ClaimedDelivery,
    Completion,
    CompletionOutcome,
    IngestedEvent,
    IngestJob,
    IngestOutcome,
    Verdict,
)

_LENGTH = struct.Struct(">I")
HEADER = _LENGTH.size

#: A request's first byte: what it asks for.
INGEST, CLAIM, COMPLETE, RELEASE = b"i", b"c", b"f", b"r"
#: An answer's first byte.
OK, ERROR = b"o", b"e"


def frame(body: bytes) -> bytes:
    return _LENGTH.pack(len(body)) + body


def frames(buffer: bytearray) -> Iterator[bytes]:
    """Take every complete frame off the front of ``buffer``, leaving a partial one."""
    start, size = 0, len(buffer)
    while size - start >= HEADER:
        (length,) = _LENGTH.unpack_from(buffer, start)
        end = start + HEADER + length
        if end > size:
            break
        yield bytes(buffer[start + HEADER : end])
        start = end
    del buffer[:start]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _event(e: InboundEvent) -> list[Any]:
    return [
        e.source.value,
        e.notification_type.value,
        e.shipment_type.value,
        e.raw_status,
        e.raw_code,
        _time(e.status_time),
        e.status_time_raw,
        e.awb,
        e.forward_awb,
        e.return_awb,
        e.return_order_id,
        e.forward_order_code,
        e.forward_shipment_code,
        e.courier_name,
        e.transporter,
        e.warehouse_code,
        _time(e.return_order_time),
        [[i.sku, i.quantity, i.item_id] for i in e.items] if e.items is not None else None,
        e.aggregator_name,
        e.aggregator_meta,
        e.raw,
    ]


def _inbound(v: list[Any]) -> InboundEvent:
    items = v[17]
    return InboundEvent(
        source=Source(v[0]),
        notification_type=NotificationType(v[1]),
        shipment_type=ShipmentType(v[2]),
        raw_status=v[3],
        raw_code=v[4],
        status_time=_parse_time(v[5]),
        status_time_raw=v[6],
        awb=v[7],
        forward_awb=v[8],
        return_awb=v[9],
        return_order_id=v[10],
        forward_order_code=v[11],
        forward_shipment_code=v[12],
        courier_name=v[13],
        transporter=v[14],
        warehouse_code=v[15],
        return_order_time=_parse_time(v[16]),
        items=tuple(Item(sku, quantity, item_id) for sku, quantity, item_id in items) if items is not None else None,
        aggregator_name=v[18],
        aggregator_meta=v[19],
        raw=v[20],
    )


def encode_job(job: IngestJob) -> bytes:
    return frame(
        INGEST + orjson.dumps([job.org, job.received_at, list(job.event_ids), [_event(e) for e in job.events]])
    )


def decode_job(body: bytes | memoryview) -> IngestJob:
    org, received_at, event_ids, events = orjson.loads(body)
    return IngestJob(org=org, events=[_inbound(e) for e in events], event_ids=event_ids, received_at=received_at)


def encode_claim(now: float, free: dict[tuple[str, str], int], lease: float) -> bytes:
    return frame(CLAIM + orjson.dumps([now, [[o, e, n] for (o, e), n in free.items()], lease]))


def decode_claim(body: bytes | memoryview) -> tuple[float, dict[tuple[str, str], int], float]:
    now, free, lease = orjson.loads(body)
    return now, {(o, e): n for o, e, n in free}, lease


def encode_claimed(claimed: Sequence[ClaimedDelivery]) -> bytes:
    """Rows as JSON, then every body as is (bodies are bytes; JSON would re-encode them)."""
    rows = orjson.dumps(
        [
            [c.id, c.event_id, c.org, c.endpoint, c.kind, c.attempt, c.lease_token, len(c.body), c.created_at]
            for c in claimed
        ]
    )
    return reply(b"".join([_LENGTH.pack(len(rows)), rows, *(c.body for c in claimed)]))


def decode_claimed(payload: memoryview) -> list[ClaimedDelivery]:
    (size,) = _LENGTH.unpack_from(payload, 0)
    at = HEADER + size
    out: list[ClaimedDelivery] = []
    for i, e, o, ep, k, a, t, n, c in orjson.loads(payload[HEADER:at]):
        out.append(ClaimedDelivery(i, e, o, ep, k, a, t, bytes(payload[at : at + n]), c))
        at += n
    return out


def encode_complete(completions: Sequence[Completion], now: float) -> bytes:
    return frame(
        COMPLETE
        + orjson.dumps(
            [
                now,
                [
                    [
                        c.delivery_id,
                        c.lease_token,
                        c.org,
                        c.endpoint,
                        c.verdict.value,
                        c.attempt.at,
                        c.attempt.status_code,
                        c.attempt.duration_ms,
                        c.attempt.error,
                        c.attempt.response_excerpt,
                        c.next_attempt_at,
                        c.disable_after,
                    ]
                    for c in completions
                ],
            ]
        )
    )


def decode_complete(body: bytes | memoryview) -> tuple[list[Completion], float]:
    now, rows = orjson.loads(body)
    return [
        Completion(i, t, o, e, Verdict(v), AttemptRecord(at, sc, d, err, ex), n, da)
        for i, t, o, e, v, at, sc, d, err, ex, n, da in rows
    ], now


def encode_completed(outcomes: Sequence[CompletionOutcome]) -> bytes:
    return reply(orjson.dumps([[o.applied, o.disabled_endpoint] for o in outcomes]))


def decode_completed(payload: memoryview) -> list[CompletionOutcome]:
    return [CompletionOutcome(a, d) for a, d in orjson.loads(payload)]


def encode_release(leases: Sequence[tuple[int, str]]) -> bytes:
    return frame(RELEASE + orjson.dumps(list(leases)))


def decode_release(body: bytes | memoryview) -> list[tuple[int, str]]:
    return [(i, t) for i, t in orjson.loads(body)]


class ChildError(Exception):
    """A request the writer process could not carry out; ``str()`` is its error there."""


def reply_error(exc: BaseException) -> bytes:
    return frame(ERROR + repr(exc).encode("utf-8", "replace"))


def reply(payload: bytes) -> bytes:
    return frame(OK + payload)


def read_reply(body: bytes) -> memoryview:
    """The payload of an answer; raises ``ChildError`` for an error answer."""
    if body[:1] == ERROR:
        raise ChildError(body[1:].decode("utf-8", "replace"))
    return memoryview(body)[1:]


def encode_outcome(outcome: IngestOutcome) -> bytes:
    if isinstance(outcome, BaseException):
        return reply_error(outcome)
    return reply(orjson.dumps([[r.event_id, r.duplicate, r.leg_id, r.stale, r.deliveries] for r in outcome]))


def decode_outcome(payload: memoryview) -> list[IngestedEvent]:
    return [IngestedEvent(e, bool(d), int(leg), bool(s), int(n)) for e, d, leg, s, n in orjson.loads(payload)]
