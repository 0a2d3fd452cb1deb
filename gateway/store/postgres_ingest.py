"""The ingest transaction for PostgreSQL: the SQLite rules (``sqlite_ingest``), batched.

A batch of jobs costs a fixed number of round trips whatever its size: lock the leg keys,
allocate ids and read the legs those keys name (one function call), read possible
duplicates, then one statement writes every leg, key, notification and outbox row. The
rules themselves (leg resolution, dedupe, staleness, fan-out) run in Python on what was
read, event by event, exactly as ``sqlite_ingest`` applies them.

Several processes ingest at once, so every leg key of the batch is taken as a transaction
advisory lock first (sorted, so two batches never deadlock), and the legs found are locked
by row: a leg is never created twice and its staleness is decided by one batch at a time.
The ``(org, dedupe_key)`` unique index stays the last word on duplicates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from gateway.envelope import LegIdentity, build_envelope
from gateway.models import InboundEvent, NotificationType
from gateway.routing import EndpointConfig
from gateway.store.base import IngestedEvent, IngestJob, IngestOutcome
from gateway.store.pgconn import Conn
from gateway.store.sqlite_ingest import dedupe_key

#: NOTIFY channel that wakes every process's dispatcher.
WAKE_CHANNEL = "gateway_work"

# Locks, ids, endpoints and the legs the keys name, in one round trip (migration 0007).
_BEGIN_BATCH = "SELECT * FROM gateway_ingest_begin($1, $2, $3, $4, $5, $6, $7)"

_READ_DUPLICATES = """
SELECT n.org, n.dedupe_key, n.event_id, n.stale FROM notifications n
WHERE (n.org, n.dedupe_key) IN (SELECT * FROM unnest($1::text[], $2::bytea[]))
"""

_WRITE = (
    """
WITH new_legs AS (
    INSERT INTO legs (id, org, shipment_type, awb, forward_awb, return_order_id, current_status, status_time,
                      terminal, newest_time, updated_at)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                         $8::float8[], $9::bool[], $10::float8[], $11::float8[])
), old_legs AS (
    UPDATE legs SET awb = u.awb, forward_awb = u.fwd, return_order_id = u.rid,
        current_status = CASE WHEN u.moved THEN u.status ELSE legs.current_status END,
        status_time = CASE WHEN u.moved THEN u.status_time ELSE legs.status_time END,
        terminal = CASE WHEN u.moved THEN u.terminal ELSE legs.terminal END,
        newest_time = CASE WHEN u.moved THEN u.newest ELSE legs.newest_time END,
        updated_at = CASE WHEN u.moved THEN u.updated ELSE legs.updated_at END
    FROM unnest($12::bigint[], $13::text[], $14::text[], $15::text[], $16::bool[], $17::text[], $18::float8[],
                $19::bool[], $20::float8[], $21::float8[])
        AS u (id, awb, fwd, rid, moved, status, status_time, terminal, newest, updated)
    WHERE legs.id = u.id
), keys AS (
    INSERT INTO leg_keys (org, shipment_type, key, leg_id)
    SELECT * FROM unnest($22::text[], $23::text[], $24::text[], $25::bigint[])
    ON CONFLICT DO NOTHING
), notes AS (
    INSERT INTO notifications (seq, event_id, org, source, leg_id, notification_type, shipment_type, awb,
                               raw_status, status_time, status_time_raw, received_at, stale, dedupe_key,
                               envelope, raw)
    SELECT * FROM unnest($26::bigint[], $27::text[], $28::text[], $29::text[], $30::bigint[], $31::text[],
                         $32::text[], $33::text[], $34::text[], $35::float8[], $36::text[], $37::float8[],
                         $38::bool[], $39::bytea[], $40::bytea[], $41::bytea[])
), outbox AS (
    INSERT INTO deliveries (seq, event_id, org, endpoint, shipment_key, ordered, state, next_attempt_at,
                            created_at, updated_at)
    SELECT s, e, o, ep, sk, ord, st, t, t, t
    FROM unnest($42::bigint[], $43::text[], $44::text[], $45::text[], $46::text[], $47::bool[], $48::text[],
                $49::float8[]) AS d (s, e, o, ep, sk, ord, st, t)
)
SELECT CASE WHEN $50::bool THEN pg_notify('"""
    + WAKE_CHANNEL
    + """', '') END
"""
)


def lock_key(org: str, shipment_type: str, key: str) -> int:
    """A signed 64-bit advisory lock id for one leg key (collisions only serialize more)."""
    digest = hashlib.blake2b(f"{org}\x1f{shipment_type}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PgEndpointCache:
    """Parsed endpoint configs keyed by (org, name, version): the JSON is parsed once."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[str, str, int], EndpointConfig] = {}

    def for_orgs(self, orgs: Sequence[str], rows_json: str | None) -> dict[str, list[tuple[EndpointConfig, bool]]]:
        """``rows_json``: ``[[org, name, version, config, disabled], ...]`` as the database sent it."""
        rows = orjson.loads(rows_json) if rows_json else []
        out: dict[str, list[tuple[EndpointConfig, bool]]] = {org: [] for org in orgs}
        for org, name, version, config, disabled in rows:
            key = (org, name, version)
            endpoint = self._parsed.get(key)
            if endpoint is None:
                endpoint = self._parsed[key] = EndpointConfig.model_validate_json(config)
            out[org].append((endpoint, bool(disabled)))
        return out


@dataclass
class _Leg:
    awb: str | None
    fwd: str | None
    rid: str | None
    terminal: bool
    newest: float | None
    new: bool
    org: str = ""
    stype: str = ""
    created_at: float = 0.0
    moved: bool = False
    status: str | None = None
    status_time: float | None = None
    updated_at: float = 0.0
    changed: bool = False


@dataclass
class _Resolved:
    job: int
    event: InboundEvent
    event_id: str
    leg_id: int
    identity: LegIdentity
    key: bytes


@dataclass
class _Batch:
    """Everything read for a batch, and the rows it will write."""

    legs: dict[int, _Leg] = field(default_factory=dict)
    keys: dict[tuple[str, str, str], int] = field(default_factory=dict)
    new_keys: list[tuple[str, str, str, int]] = field(default_factory=list)
    notes: list[tuple[object, ...]] = field(default_factory=list)
    outbox: list[tuple[object, ...]] = field(default_factory=list)


def _resolve_leg(batch: _Batch, org: str, event: InboundEvent, now: float, fresh_ids: list[int]) -> int:
    keys = event.leg_keys()
    stype = event.shipment_type.value
    own_awb = event.return_awb or event.awb
    leg_id: int | None = None
    for index, key in enumerate(keys):
        found = batch.keys.get((org, stype, key))
        if found is None:
            continue
        leg_awb = batch.legs[found].awb
        # The weak-key rule of sqlite_ingest._find_leg: a return order id or forward AWB
        # finds a leg only while that leg has no AWB of its own that differs.
        if index > 0 and own_awb and leg_awb and leg_awb != own_awb:
            continue
        leg_id = found
        break
    if leg_id is None:
        leg_id = fresh_ids.pop()
        batch.legs[leg_id] = _Leg(
            own_awb, event.forward_awb, event.return_order_id, False, None, True, org, stype, now, updated_at=now
        )
    else:
        leg = batch.legs[leg_id]
        before = (leg.awb, leg.fwd, leg.rid)
        leg.awb = leg.awb or own_awb
        leg.fwd = leg.fwd or event.forward_awb
        leg.rid = leg.rid or event.return_order_id
        leg.changed |= before != (leg.awb, leg.fwd, leg.rid)
    for key in keys:
        if (org, stype, key) not in batch.keys:
            batch.keys[org, stype, key] = leg_id
            batch.new_keys.append((org, stype, key, leg_id))
    return leg_id


def _accept(
    batch: _Batch, job: IngestJob, r: _Resolved, seq: int, endpoints: list[tuple[EndpointConfig, bool]]
) -> IngestedEvent:
    org, now, event, leg = job.org, job.received_at, r.event, batch.legs[r.leg_id]
    effective = event.status_time.timestamp() if event.status_time is not None else now
    ntype = event.notification_type
    stale = (leg.newest is not None and effective < leg.newest) or (leg.terminal and not ntype.terminal)
    if not stale and ntype is not NotificationType.UNKNOWN:
        leg.moved = leg.changed = True
        leg.status, leg.status_time, leg.terminal = ntype.value, effective, ntype.terminal
        leg.newest = max(effective, leg.newest if leg.newest is not None else effective)
        leg.updated_at = now
    envelope = build_envelope(
        event_id=r.event_id, org=org, event=event, leg=r.identity, effective_time=effective, stale=stale
    )
    batch.notes.append(
        (
            seq,
            r.event_id,
            org,
            event.source.value,
            r.leg_id,
            ntype.value,
            event.shipment_type.value,
            event.return_awb or event.awb or event.forward_awb,
            event.raw_status,
            effective,
            event.status_time_raw,
            now,
            stale,
            r.key,
            orjson.dumps(envelope),
            orjson.dumps(event.raw) if event.raw is not None else None,
        )
    )
    matched = [(e, disabled) for e, disabled in endpoints if e.matches(ntype, event.shipment_type, stale)]
    for endpoint, disabled in matched:
        state = "parked" if disabled else "pending"
        batch.outbox.append((seq, r.event_id, org, endpoint.name, str(r.leg_id), endpoint.ordered, state, now))
    return IngestedEvent(r.event_id, False, r.leg_id, stale, len(matched))


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    return [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


def _leg_rows(batch: _Batch) -> list[list[object]]:
    new = [
        (i, g.org, g.stype, g.awb, g.fwd, g.rid, g.status, g.status_time, g.terminal, g.newest, g.updated_at)
        for i, g in batch.legs.items()
        if g.new
    ]
    old = [
        (i, g.awb, g.fwd, g.rid, g.moved, g.status, g.status_time, g.terminal, g.newest, g.updated_at)
        for i, g in batch.legs.items()
        if not g.new and g.changed
    ]
    return [*_columns(new, 11), *_columns(old, 10)]


async def ingest_batch(conn: Conn, jobs: Sequence[IngestJob], cache: PgEndpointCache) -> list[IngestOutcome]:
    """Store ``jobs`` in the caller's open transaction; outcomes in job order."""
    events = [
        (j, job, ev, eid) for j, job in enumerate(jobs) for ev, eid in zip(job.events, job.event_ids, strict=True)
    ]
    orgs = sorted({job.org for job in jobs})
    wanted = {(job.org, ev.shipment_type.value, k) for _, job, ev, _ in events for k in ev.leg_keys()}
    lock_ids = [lock_key(*leg_key) for leg_key in wanted]
    key_orgs, key_types, keys = (list(c) for c in zip(*wanted, strict=True)) if wanted else ([], [], [])
    row = await conn.fetchrow(_BEGIN_BATCH, lock_ids, len(events), len(events), orgs, key_orgs, key_types, keys)
    assert row is not None
    fresh_ids, seqs, endpoint_rows, *found = row
    endpoints = cache.for_orgs(orgs, endpoint_rows)
    fresh_ids = list(reversed(fresh_ids))
    batch = _Batch()
    if found[0] is not None:
        for org, stype, key, leg_id, awb, fwd, rid, terminal, newest in zip(*found, strict=True):
            batch.keys[org, stype, key] = leg_id
            batch.legs.setdefault(leg_id, _Leg(awb, fwd, rid, terminal, newest, False))

    resolved: list[_Resolved] = []
    for j, job, event, event_id in events:
        leg_id = _resolve_leg(batch, job.org, event, job.received_at, fresh_ids)
        leg = batch.legs[leg_id]
        identity = LegIdentity(awb=leg.awb, forward_awb=leg.fwd, return_order_id=leg.rid)
        resolved.append(_Resolved(j, event, event_id, leg_id, identity, dedupe_key(event, leg_id).encode()))

    existing: dict[tuple[str, bytes], tuple[str, bool]] = {}
    probe = [(jobs[r.job].org, r.key) for r in resolved if not batch.legs[r.leg_id].new]
    if probe:
        orgs, dkeys = (list(c) for c in zip(*probe, strict=True))
        for org, key, event_id, stale in await conn.fetch(_READ_DUPLICATES, orgs, dkeys):
            existing[org, bytes(key)] = (event_id, stale)

    results: list[list[IngestedEvent]] = [[] for _ in jobs]
    for r, seq in zip(resolved, seqs, strict=False):
        org = jobs[r.job].org
        seen = existing.get((org, r.key))
        if seen is not None:
            results[r.job].append(IngestedEvent(seen[0], True, r.leg_id, seen[1], 0))
            continue
        outcome = _accept(batch, jobs[r.job], r, seq, endpoints[org])
        existing[org, r.key] = (r.event_id, outcome.stale)
        results[r.job].append(outcome)

    wake = any(row[6] == "pending" for row in batch.outbox)
    await conn.execute(
        _WRITE,
        *_leg_rows(batch),
        *_columns(batch.new_keys, 4),
        *_columns(batch.notes, 16),
        *_columns(batch.outbox, 8),
        wake,
    )
    return list(results)
