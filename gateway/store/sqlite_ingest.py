"""The ingest transaction for SQLite: legs, dedupe, staleness, notification, outbox rows.

Runs entirely on the store's database thread (one hop per batch of requests).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from gateway.envelope import LegIdentity, build_envelope
from gateway.models import InboundEvent, NotificationType
from gateway.routing import EndpointConfig
from gateway.store.base import IngestedEvent, IngestJob, IngestOutcome

_ABSENT = "\x00"


def dedupe_key(event: InboundEvent, leg_id: int) -> str:
    # SPEC §7.5: same org, source, shipment key, raw status code and raw time string;
    # an absent value counts as a value.
    parts = (event.source.value, str(leg_id), event.raw_code or _ABSENT, event.status_time_raw or _ABSENT)
    return "\x1f".join(parts)


class EndpointCache:
    """Parsed endpoint configs keyed by (org, name, version): the JSON is parsed once."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[str, str, int], EndpointConfig] = {}

    def for_org(self, conn: sqlite3.Connection, org: str) -> list[tuple[EndpointConfig, bool]]:
        rows = conn.execute(
            "SELECT name, version, config, disabled FROM endpoints WHERE org = ? AND deleted = 0", (org,)
        ).fetchall()
        out = []
        for name, version, config, disabled in rows:
            key = (org, name, version)
            endpoint = self._parsed.get(key)
            if endpoint is None:
                endpoint = EndpointConfig.model_validate_json(config)
                self._parsed[key] = endpoint
            out.append((endpoint, bool(disabled)))
        return out


def _resolve_leg(conn: sqlite3.Connection, org: str, event: InboundEvent, now: float) -> int:
    keys = event.leg_keys()
    stype = event.shipment_type.value
    own_awb = event.return_awb or event.awb
    leg_id: int | None = None
    for index, key in enumerate(keys):
        row = conn.execute(
            "SELECT l.id, l.awb FROM leg_keys k JOIN legs l ON l.id = k.leg_id "
            "WHERE k.org = ? AND k.shipment_type = ? AND k.key = ?",
            (org, stype, key),
        ).fetchone()
        if row is None:
            continue
        # A weaker key (return order id, forward AWB) finds a leg only while that leg has
        # not learned an AWB of its own; otherwise a second return of the same order would
        # land on the first one.
        if index > 0 and own_awb and row[1] and row[1] != own_awb:
            continue
        leg_id = int(row[0])
        break
    if leg_id is None:
        cur = conn.execute(
            "INSERT INTO legs (org, shipment_type, awb, forward_awb, return_order_id, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (org, stype, own_awb, event.forward_awb, event.return_order_id, now),
        )
        leg_id = int(cur.lastrowid or 0)
    else:
        conn.execute(
            "UPDATE legs SET awb = COALESCE(awb, ?), forward_awb = COALESCE(forward_awb, ?), "
            "return_order_id = COALESCE(return_order_id, ?) WHERE id = ?",
            (own_awb, event.forward_awb, event.return_order_id, leg_id),
        )
    conn.executemany(
        "INSERT OR IGNORE INTO leg_keys (org, shipment_type, key, leg_id) VALUES (?, ?, ?, ?)",
        [(org, stype, key, leg_id) for key in keys],
    )
    return leg_id


def _ingest_event(
    conn: sqlite3.Connection,
    job: IngestJob,
    event: InboundEvent,
    event_id: str,
    endpoints: list[tuple[EndpointConfig, bool]],
) -> IngestedEvent:
    org, now = job.org, job.received_at
    leg_id = _resolve_leg(conn, org, event, now)
    key = dedupe_key(event, leg_id)
    existing = conn.execute(
        "SELECT event_id, stale FROM notifications WHERE org = ? AND dedupe_key = ?", (org, key)
    ).fetchone()
    if existing is not None:
        return IngestedEvent(str(existing[0]), True, leg_id, bool(existing[1]), 0)

    awb, fwd, rid, terminal, newest = conn.execute(
        "SELECT awb, forward_awb, return_order_id, terminal, newest_time FROM legs WHERE id = ?", (leg_id,)
    ).fetchone()
    effective = event.status_time.timestamp() if event.status_time is not None else now
    ntype = event.notification_type
    stale = (newest is not None and effective < newest) or (bool(terminal) and not ntype.terminal)
    if not stale and ntype is not NotificationType.UNKNOWN:
        conn.execute(
            "UPDATE legs SET current_status = ?, status_time = ?, terminal = ?, newest_time = ?, "
            "updated_at = ? WHERE id = ?",
            (ntype.value, effective, int(ntype.terminal), max(effective, newest or effective), now, leg_id),
        )

    envelope = build_envelope(
        event_id=event_id,
        org=org,
        event=event,
        leg=LegIdentity(awb=awb, forward_awb=fwd, return_order_id=rid),
        effective_time=effective,
        stale=stale,
    )
    cur = conn.execute(
        "INSERT INTO notifications (event_id, org, source, leg_id, notification_type, shipment_type, awb, "
        "raw_status, status_time, status_time_raw, received_at, stale, dedupe_key, envelope, raw) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event_id,
            org,
            event.source.value,
            leg_id,
            ntype.value,
            event.shipment_type.value,
            event.return_awb or event.awb or event.forward_awb,
            event.raw_status,
            effective,
            event.status_time_raw,
            now,
            int(stale),
            key,
            orjson.dumps(envelope),
            orjson.dumps(event.raw) if event.raw is not None else None,
        ),
    )
    seq = cur.lastrowid
    rows = [
        (
            seq,
            event_id,
            org,
            endpoint.name,
            str(leg_id),
            int(endpoint.ordered),
            "parked" if disabled else "pending",
            now,
            now,
            now,
        )
        for endpoint, disabled in endpoints
        if endpoint.matches(ntype, event.shipment_type, stale)
    ]
    if rows:
        conn.executemany(
            "INSERT INTO deliveries (seq, event_id, org, endpoint, shipment_key, ordered, state, "
            "next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return IngestedEvent(event_id, False, leg_id, stale, len(rows))


def ingest_transaction(
    conn: sqlite3.Connection, jobs: Sequence[IngestJob], cache: EndpointCache
) -> list[IngestOutcome]:
    outcomes: list[IngestOutcome] = []
    endpoints_by_org: dict[str, list[tuple[EndpointConfig, bool]]] = {}
    conn.execute("BEGIN IMMEDIATE")
    try:
        for job in jobs:
            endpoints = endpoints_by_org.get(job.org)
            if endpoints is None:
                endpoints = endpoints_by_org[job.org] = cache.for_org(conn, job.org)
            conn.execute("SAVEPOINT job")
            try:
                results = [
                    _ingest_event(conn, job, event, event_id, endpoints)
                    for event, event_id in zip(job.events, job.event_ids, strict=True)
                ]
            except Exception as exc:  # one bad job must not fail its batch-mates
                conn.execute("ROLLBACK TO job")
                outcomes.append(exc)
            else:
                outcomes.append(results)
            conn.execute("RELEASE job")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcomes
