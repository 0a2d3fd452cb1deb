"""Requests to the SQLite writer process and its answers, as bytes.

A frame is a 4-byte big-endian length and a body. A request's body is one kind byte
(``INGEST``, ``CLAIM``, ``COMPLETE``, ``RELEASE``) and orjson; an answer's is ``OK`` and the
result, or ``ERROR`` (``FAULT`` when the store itself failed: see ``dbthread.sqlite_fault``)
and the error's text. A claim's answer carries the deliveries' bodies
as raw bytes after its JSON, since JSON would have to re-encode them. Flat orjson, not
``pickle``: encoding runs on the event loop's thread (docs/decisions/0004-flat-writer-codec.md).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
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
from gateway.store.dbthread import sqlite_fault

_LENGTH = struct.Struct(">I")
HEADER = _LENGTH.size

#: A request's first byte: what it asks for.
INGEST, CLAIM, COMPLETE, RELEASE = b"i", b"c", b"f", b"r"
#: An answer's first byte.
OK, ERROR, FAULT = b"o", b"e", b"x"


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


#: Every field of an event, in order: a field added to InboundEvent crosses the pipe too.
_FIELDS = tuple(f.name for f in fields(InboundEvent))
#: Written by hand: orjson drops the seconds of a UTC offset such as +05:30:15.
_TIME_AT = tuple(_FIELDS.index(name) for name in ("status_time", "return_order_time"))
#: Read back into their types; orjson wrote enums as their values and items as objects.
_READ_BACK: dict[str, Callable[[Any], Any]] = {
    "source": Source,
    "notification_type": NotificationType,
    "shipment_type": ShipmentType,
    "status_time": _parse_time,
    "return_order_time": _parse_time,
    "items": lambda items: tuple(Item(**item) for item in items) if items is not None else None,
}


def _event(e: InboundEvent) -> list[Any]:
    values = [getattr(e, name) for name in _FIELDS]
    for at in _TIME_AT:
        values[at] = _time(values[at])
    return values


def _inbound(values: list[Any]) -> InboundEvent:
    given = dict(zip(_FIELDS, values, strict=True))
    for name, read in _READ_BACK.items():
        given[name] = read(given[name])
    return InboundEvent(**given)


def request(kind: bytes, value: Any) -> bytes:
    return frame(kind + orjson.dumps(value))


def encode_job(job: IngestJob) -> bytes:
    return request(INGEST, [job.org, job.received_at, list(job.event_ids), [_event(e) for e in job.events]])


def decode_job(body: bytes | memoryview) -> IngestJob:
    org, received_at, event_ids, events = orjson.loads(body)
    return IngestJob(org=org, events=[_inbound(e) for e in events], event_ids=event_ids, received_at=received_at)


def encode_claim(now: float, free: dict[tuple[str, str], int], lease: float) -> bytes:
    return request(CLAIM, [now, [[o, e, n] for (o, e), n in free.items()], lease])


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
    rows = [
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
    ]
    return request(COMPLETE, [now, rows])


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
    return request(RELEASE, list(leases))


def decode_release(body: bytes | memoryview) -> list[tuple[int, str]]:
    return [(i, t) for i, t in orjson.loads(body)]


class ChildError(Exception):
    """A request the writer process could not carry out; ``str()`` is its error there."""

    def __init__(self, message: str, *, store_fault: bool = False) -> None:
        super().__init__(message)
        #: The store could not write (disk full, I/O error, read-only...), not a bad job.
        self.store_fault = store_fault


def reply_error(exc: BaseException) -> bytes:
    return frame((FAULT if sqlite_fault(exc) else ERROR) + repr(exc).encode("utf-8", "replace"))


def reply(payload: bytes) -> bytes:
    return frame(OK + payload)


def read_reply(body: bytes) -> memoryview:
    """The payload of an answer; raises ``ChildError`` for an error answer."""
    kind = body[:1]
    if kind == ERROR or kind == FAULT:
        raise ChildError(body[1:].decode("utf-8", "replace"), store_fault=kind == FAULT)
    return memoryview(body)[1:]


def encode_outcome(outcome: IngestOutcome) -> bytes:
    if isinstance(outcome, BaseException):
        return reply_error(outcome)
    return reply(orjson.dumps([[r.event_id, r.duplicate, r.leg_id, r.stale, r.deliveries] for r in outcome]))


def decode_outcome(payload: memoryview) -> list[IngestedEvent]:
    return [IngestedEvent(e, bool(d), int(leg), bool(s), int(n)) for e, d, leg, s, n in orjson.loads(payload)]
