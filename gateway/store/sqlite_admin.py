"""The admin API's reads and endpoint writes for SQLite (SPEC §11).

Reads run on the reader connection; ``put_endpoint`` and ``delete_endpoint`` run whole on
the writer thread, each in one transaction.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from gateway.routing import EndpointConfig
from gateway.store.admin_types import (
    AttemptStats,
    DeliveryDetail,
    EndpointBacklog,
    EndpointWrite,
    NotificationQuery,
    NotificationRecord,
)
from gateway.store.base import AttemptRecord, DeliveryView

#: ``last_error`` of the deliveries a deleted endpoint leaves behind (marked failed).
DELETED_ENDPOINT_ERROR = "endpoint deleted"

_NOTIFICATION_COLUMNS = "n.seq, n.event_id, n.org, n.source, n.received_at, n.envelope"


def _record(row: tuple[Any, ...], deliveries: tuple[DeliveryDetail, ...] = ()) -> NotificationRecord:
    return NotificationRecord(
        seq=row[0],
        event_id=row[1],
        org=row[2],
        source=row[3],
        received_at=row[4],
        envelope=dict(orjson.loads(row[5])),
        deliveries=deliveries,
    )


def search_notifications(conn: sqlite3.Connection, q: NotificationQuery) -> list[NotificationRecord]:
    clauses: list[str] = []
    params: list[Any] = []
    if q.org is not None:
        clauses.append("n.org = ?")
        params.append(q.org)
    if q.awb is not None:
        # A return leg is also found by its forward AWB (SPEC §2 "leg").
        legs = "SELECT id FROM legs WHERE forward_awb = ?" + (" AND org = ?" if q.org is not None else "")
        clauses.append(f"(n.awb = ? OR n.leg_id IN ({legs}))")
        params.extend([q.awb, q.awb, *([q.org] if q.org is not None else [])])
    for clause, value in (
        ("n.notification_type = ?", q.notification_type),
        ("n.received_at >= ?", q.since),
        ("n.received_at < ?", q.until),
        ("n.seq < ?", q.before_seq),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        f"SELECT {_NOTIFICATION_COLUMNS} FROM notifications n {where} ORDER BY n.seq DESC LIMIT ?",
        (*params, q.limit),
    ).fetchall()
    return [_record(row) for row in rows]


def notification_detail(conn: sqlite3.Connection, event_id: str) -> NotificationRecord | None:
    row = conn.execute(
        f"SELECT {_NOTIFICATION_COLUMNS} FROM notifications n WHERE n.event_id = ?", (event_id,)
    ).fetchone()
    if row is None:
        return None
    deliveries = []
    for d in conn.execute(
        "SELECT id, event_id, org, endpoint, state, attempt_count, next_attempt_at, last_status, last_error "
        "FROM deliveries WHERE event_id = ? ORDER BY id",
        (event_id,),
    ).fetchall():
        attempts = tuple(
            AttemptRecord(*a)
            for a in conn.execute(
                "SELECT at, status_code, duration_ms, error, response_excerpt FROM attempts "
                "WHERE delivery_id = ? ORDER BY id",
                (d[0],),
            )
        )
        deliveries.append(DeliveryDetail(DeliveryView(*d), attempts))
    return _record(row, tuple(deliveries))


def backlog(conn: sqlite3.Connection) -> list[EndpointBacklog]:
    rows = conn.execute(
        "SELECT org, endpoint, count(*), min(created_at) FROM deliveries "
        "WHERE state IN ('pending', 'parked') GROUP BY org, endpoint ORDER BY org, endpoint"
    ).fetchall()
    return [EndpointBacklog(*row) for row in rows]


def attempt_stats(conn: sqlite3.Connection, since: float) -> list[AttemptStats]:
    rows = conn.execute(
        "SELECT d.org, d.endpoint, count(*), sum(a.status_code BETWEEN 200 AND 299) "
        "FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE a.at >= ? "
        "GROUP BY d.org, d.endpoint ORDER BY d.org, d.endpoint",
        (since,),
    ).fetchall()
    return [AttemptStats(org, endpoint, attempts, int(successes or 0)) for org, endpoint, attempts, successes in rows]


def _transaction(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")


def put_endpoint_transaction(conn: sqlite3.Connection, org: str, config: EndpointConfig) -> EndpointWrite:
    body = config.model_dump_json()
    _transaction(conn)
    try:
        row = conn.execute(
            "SELECT owner, deleted FROM endpoints WHERE org = ? AND name = ?", (org, config.name)
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO endpoints (org, name, owner, config) VALUES (?, ?, 'api', ?)", (org, config.name, body)
            )
            outcome = EndpointWrite.CREATED
        elif row[0] == "file" and not row[1]:
            outcome = EndpointWrite.FILE_OWNED
        elif row[1]:
            # A deleted endpoint created again starts afresh; the version bump makes
            # every cache of its config re-read it.
            conn.execute(
                "UPDATE endpoints SET owner = 'api', config = ?, version = version + 1, deleted = 0, disabled = 0, "
                "disabled_reason = NULL, disabled_at = NULL, failing_since = NULL, last_error = NULL, "
                "last_success_at = NULL WHERE org = ? AND name = ?",
                (body, org, config.name),
            )
            outcome = EndpointWrite.CREATED
        else:
            conn.execute(
                "UPDATE endpoints SET config = ?, version = version + 1 WHERE org = ? AND name = ?",
                (body, org, config.name),
            )
            outcome = EndpointWrite.REPLACED
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return outcome


def delete_endpoint_transaction(conn: sqlite3.Connection, org: str, name: str, now: float) -> tuple[EndpointWrite, int]:
    _transaction(conn)
    try:
        row = conn.execute("SELECT owner, deleted FROM endpoints WHERE org = ? AND name = ?", (org, name)).fetchone()
        if row is None or row[1]:
            conn.execute("COMMIT")
            return EndpointWrite.NOT_FOUND, 0
        if row[0] == "file":
            conn.execute("COMMIT")
            return EndpointWrite.FILE_OWNED, 0
        conn.execute("UPDATE endpoints SET deleted = 1, version = version + 1 WHERE org = ? AND name = ?", (org, name))
        # Nothing would ever claim them again: fail them (visible in the dead letter, and
        # replayable should the endpoint come back) rather than let them sit as backlog.
        # A lease under way is cut: its result will not apply.
        cur = conn.execute(
            "UPDATE deliveries SET state = 'failed', lease_token = NULL, lease_until = NULL, last_error = ?, "
            "updated_at = ? WHERE org = ? AND endpoint = ? AND state IN ('pending', 'parked')",
            (DELETED_ENDPOINT_ERROR, now, org, name),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return EndpointWrite.DELETED, cur.rowcount
