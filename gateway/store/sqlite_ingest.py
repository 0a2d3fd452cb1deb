"""The ingest transaction for SQLite: legs, dedupe, staleness, notification, outbox rows.

Runs in the SQLite writer process (``writer_child``), or on the store's writer thread when
``store.writer_process`` is off: one call per batch of requests either way. Statement count
per event is the cost that matters here, so the common paths are kept to five statements:
a new leg (key lookup, leg, keys, notification, deliveries) and a known leg (lookup with
the leg's state, dedupe probe, leg update, notification, deliveries)
(docs/decisions/0002-one-hop-per-transaction.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from gateway.envelope import LegIdentity, build_envelope
from gateway.models import InboundEvent, NotificationType
from gateway.routing import EndpointConfig
from gateway.store.base import IngestedEvent, IngestJob, IngestOutcome
from gateway.store.dbthread import immediate

_ABSENT = "\x00"

Endpoints = list[tuple[EndpointConfig, bool]]


def dedupe_key(event: InboundEvent, leg_id: int) -> str:
    # SPEC §7.5: same org, source, shipment key, raw status code and raw time string;
    # an absent value counts as a value.
    parts = (event.source.value, str(leg_id), event.raw_code or _ABSENT, event.status_time_raw or _ABSENT)
    return "\x1f".join(parts)


class EndpointCache:
    """Each org's endpoints, re-read only when ``endpoints_version`` (kept by triggers on
    the endpoints table, whoever writes it) has moved."""

    def __init__(self) -> None:
        self._version = -1
        self._by_org: dict[str, Endpoints] = {}

    def check(self, conn: sqlite3.Connection) -> None:
        """Forget what changed; once per transaction (endpoints cannot change inside one)."""
        (version,) = conn.execute("SELECT version FROM endpoints_version WHERE id = 1").fetchone()
        if version != self._version:
            self._by_org, self._version = {}, version

    def for_org(self, conn: sqlite3.Connection, org: str) -> Endpoints:
        """``org``'s endpoints as of the last ``check``."""
        endpoints = self._by_org.get(org)
        if endpoints is None:
            rows = conn.execute(
                "SELECT config, disabled FROM endpoints WHERE org = ? AND deleted = 0 ORDER BY name", (org,)
            ).fetchall()
            endpoints = [(EndpointConfig.model_validate_json(config), bool(disabled)) for config, disabled in rows]
            self._by_org[org] = endpoints
        return endpoints


class _Leg:
    __slots__ = ("awb", "fwd", "id", "new", "newest", "rid", "terminal")

    def __init__(
        self,
        leg_id: int,
        awb: str | None,
        fwd: str | None,
        rid: str | None,
        terminal: int,
        newest: float | None,
        new: bool,
    ) -> None:
        self.id, self.awb, self.fwd, self.rid = leg_id, awb, fwd, rid
        self.terminal, self.newest, self.new = terminal, newest, new


_FIND = (
    "SELECT l.id, l.awb, l.forward_awb, l.return_order_id, l.terminal, l.newest_time "
    "FROM leg_keys k JOIN legs l ON l.id = k.leg_id WHERE k.org = ? AND k.shipment_type = ? AND k.key = ?"
)


def _find_leg(conn: sqlite3.Connection, org: str, event: InboundEvent, keys: tuple[str, ...]) -> _Leg | None:
    stype = event.shipment_type.value
    own_awb = event.return_awb or event.awb
    for index, key in enumerate(keys):
        row = conn.execute(_FIND, (org, stype, key)).fetchone()
        if row is None:
            continue
        # A weaker key (return order id, forward AWB) finds a leg only while that leg has
        # not learned an AWB of its own; otherwise a second return of the same order would
        # land on the first one.
        if index > 0 and own_awb and row[1] and row[1] != own_awb:
            continue
        return _Leg(row[0], row[1], row[2], row[3], row[4], row[5], new=False)
    return None


def _ingest_event(
    conn: sqlite3.Connection, job: IngestJob, event: InboundEvent, event_id: str, endpoints: Endpoints
) -> IngestedEvent:
    org, now = job.org, job.received_at
    keys = event.leg_keys()
    stype = event.shipment_type.value
    ntype = event.notification_type
    effective = event.status_time.timestamp() if event.status_time is not None else now
    applies = ntype is not NotificationType.UNKNOWN
    leg = _find_leg(conn, org, event, keys)
    own_awb = event.return_awb or event.awb

    if leg is None:
        # A new leg cannot hold a duplicate nor make this event stale.
        stale = False
        cur = conn.execute(
            "INSERT INTO legs (org, shipment_type, awb, forward_awb, return_order_id, current_status, status_time, "
            "terminal, newest_time, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                org,
                stype,
                own_awb,
                event.forward_awb,
                event.return_order_id,
                ntype.value if applies else None,
                effective if applies else None,
                int(applies and ntype.terminal),
                effective if applies else None,
                now,
            ),
        )
        leg = _Leg(int(cur.lastrowid or 0), own_awb, event.forward_awb, event.return_order_id, 0, None, new=True)
        key = dedupe_key(event, leg.id)
    else:
        key = dedupe_key(event, leg.id)
        existing = conn.execute(
            "SELECT event_id, stale FROM notifications WHERE org = ? AND dedupe_key = ?", (org, key)
        ).fetchone()
        if existing is not None:
            return IngestedEvent(str(existing[0]), True, leg.id, bool(existing[1]), 0)
        stale = (leg.newest is not None and effective < leg.newest) or (bool(leg.terminal) and not ntype.terminal)
        moves = applies and not stale
        conn.execute(
            "UPDATE legs SET awb = COALESCE(awb, ?), forward_awb = COALESCE(forward_awb, ?), "
            "return_order_id = COALESCE(return_order_id, ?), "
            "current_status = CASE WHEN ? THEN ? ELSE current_status END, "
            "status_time = CASE WHEN ? THEN ? ELSE status_time END, "
            "terminal = CASE WHEN ? THEN ? ELSE terminal END, "
            "newest_time = CASE WHEN ? THEN MAX(COALESCE(newest_time, ?), ?) ELSE newest_time END, "
            "updated_at = ? WHERE id = ?",
            (
                own_awb,
                event.forward_awb,
                event.return_order_id,
                moves,
                ntype.value,
                moves,
                effective,
                moves,
                int(ntype.terminal),
                moves,
                effective,
                effective,
                now,
                leg.id,
            ),
        )
    if leg.new or len(keys) > 1:
        conn.executemany(
            "INSERT OR IGNORE INTO leg_keys (org, shipment_type, key, leg_id) VALUES (?, ?, ?, ?)",
            [(org, stype, k, leg.id) for k in keys],
        )

    envelope = build_envelope(
        event_id=event_id,
        org=org,
        event=event,
        leg=LegIdentity(awb=leg.awb, forward_awb=leg.fwd, return_order_id=leg.rid),
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
            leg.id,
            ntype.value,
            stype,
            own_awb or event.forward_awb,
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
            str(leg.id),
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
    return IngestedEvent(event_id, False, leg.id, stale, len(rows))


def _ingest_jobs(conn: sqlite3.Connection, jobs: Sequence[IngestJob], cache: EndpointCache) -> list[IngestOutcome]:
    outcomes: list[IngestOutcome] = []
    cache.check(conn)
    for job in jobs:
        endpoints = cache.for_org(conn, job.org)
        outcomes.append(
            [
                _ingest_event(conn, job, event, event_id, endpoints)
                for event, event_id in zip(job.events, job.event_ids, strict=True)
            ]
        )
    return outcomes


def _one_transaction(conn: sqlite3.Connection, jobs: Sequence[IngestJob], cache: EndpointCache) -> list[IngestOutcome]:
    with immediate(conn):
        outcomes = _ingest_jobs(conn, jobs, cache)
    return outcomes


def ingest_transaction(
    conn: sqlite3.Connection, jobs: Sequence[IngestJob], cache: EndpointCache
) -> list[IngestOutcome]:
    """All jobs in one transaction; if that fails, each job alone, so one bad job fails
    only itself (a failing COMMIT still fails them all: nothing is acknowledged)."""
    try:
        return _one_transaction(conn, jobs, cache)
    except Exception:
        if len(jobs) == 1:
            raise
    outcomes: list[IngestOutcome] = []
    for job in jobs:
        try:
            outcomes.extend(_one_transaction(conn, [job], cache))
        except Exception as exc:
            outcomes.append(exc)
    return outcomes
