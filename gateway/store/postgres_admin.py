"""The admin API's reads and endpoint writes for PostgreSQL (the ``sqlite_admin`` rules)."""

from __future__ import annotations

from typing import Any

import asyncpg
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
from gateway.store.pgconn import Conn
from gateway.store.sqlite_admin import DELETED_ENDPOINT_ERROR

_NOTIFICATION_COLUMNS = "n.seq, n.event_id, n.org, n.source, n.received_at, n.envelope"


def _record(row: asyncpg.Record, deliveries: tuple[DeliveryDetail, ...] = ()) -> NotificationRecord:
    return NotificationRecord(
        seq=row[0],
        event_id=row[1],
        org=row[2],
        source=row[3],
        received_at=row[4],
        envelope=dict(orjson.loads(row[5])),
        deliveries=deliveries,
    )


async def search_notifications(conn: Conn, q: NotificationQuery) -> list[NotificationRecord]:
    clauses: list[str] = []
    params: list[Any] = []

    def param(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    if q.org is not None:
        clauses.append(f"n.org = {param(q.org)}")
    if q.awb is not None:
        # A return leg is also found by its forward AWB (SPEC §2 "leg").
        awb = param(q.awb)
        legs = f"SELECT id FROM legs WHERE forward_awb = {awb}" + (
            f" AND org = {param(q.org)}" if q.org is not None else ""
        )
        clauses.append(f"(n.awb = {awb} OR n.leg_id IN ({legs}))")
    for clause, value in (
        ("n.notification_type = {}", q.notification_type),
        ("n.received_at >= {}", q.since),
        ("n.received_at < {}", q.until),
        ("n.seq < {}", q.before_seq),
    ):
        if value is not None:
            clauses.append(clause.format(param(value)))
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await conn.fetch(
        f"SELECT {_NOTIFICATION_COLUMNS} FROM notifications n {where} ORDER BY n.seq DESC LIMIT {param(q.limit)}",
        *params,
    )
    return [_record(row) for row in rows]


async def notification_detail(conn: Conn, event_id: str) -> NotificationRecord | None:
    row = await conn.fetchrow(f"SELECT {_NOTIFICATION_COLUMNS} FROM notifications n WHERE n.event_id = $1", event_id)
    if row is None:
        return None
    deliveries = await conn.fetch(
        "SELECT id, event_id, org, endpoint, state, attempt_count, next_attempt_at, last_status, last_error "
        "FROM deliveries WHERE event_id = $1 ORDER BY id",
        event_id,
    )
    attempts = await conn.fetch(
        "SELECT delivery_id, at, status_code, duration_ms, error, response_excerpt FROM attempts "
        "WHERE delivery_id = ANY($1::bigint[]) ORDER BY id",
        [d[0] for d in deliveries],
    )
    by_delivery: dict[int, list[AttemptRecord]] = {}
    for a in attempts:
        by_delivery.setdefault(a[0], []).append(AttemptRecord(a[1], a[2], a[3], a[4], a[5]))
    details = tuple(DeliveryDetail(DeliveryView(*d), tuple(by_delivery.get(d[0], ()))) for d in deliveries)
    return _record(row, details)


async def backlog(conn: Conn) -> list[EndpointBacklog]:
    rows = await conn.fetch(
        "SELECT org, endpoint, count(*), min(created_at) FROM deliveries "
        "WHERE state IN ('pending', 'parked') GROUP BY org, endpoint ORDER BY org, endpoint"
    )
    return [EndpointBacklog(r[0], r[1], r[2], r[3]) for r in rows]


async def attempt_stats(conn: Conn, since: float) -> list[AttemptStats]:
    rows = await conn.fetch(
        "SELECT d.org, d.endpoint, count(*), count(*) FILTER (WHERE a.status_code BETWEEN 200 AND 299) "
        "FROM attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE a.at >= $1 "
        "GROUP BY d.org, d.endpoint ORDER BY d.org, d.endpoint",
        since,
    )
    return [AttemptStats(r[0], r[1], r[2], r[3]) for r in rows]


async def put_endpoint(conn: Conn, org: str, config: EndpointConfig) -> EndpointWrite:
    body = config.model_dump_json()
    # The row may not exist yet, so a row lock cannot serialize two creators: lock the name.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"endpoint\x1f{org}\x1f{config.name}")
    row = await conn.fetchrow("SELECT owner, deleted FROM endpoints WHERE org = $1 AND name = $2", org, config.name)
    if row is None:
        await conn.execute(
            "INSERT INTO endpoints (org, name, owner, config) VALUES ($1, $2, 'api', $3)", org, config.name, body
        )
        return EndpointWrite.CREATED
    if row[0] == "file" and not row[1]:
        return EndpointWrite.FILE_OWNED
    if row[1]:
        # A deleted endpoint created again starts afresh; the version bump makes every
        # cache of its config re-read it.
        await conn.execute(
            "UPDATE endpoints SET owner = 'api', config = $1, version = version + 1, deleted = false, "
            "disabled = false, disabled_reason = NULL, disabled_at = NULL, failing_since = NULL, last_error = NULL, "
            "last_success_at = NULL WHERE org = $2 AND name = $3",
            body,
            org,
            config.name,
        )
        return EndpointWrite.CREATED
    await conn.execute(
        "UPDATE endpoints SET config = $1, version = version + 1 WHERE org = $2 AND name = $3", body, org, config.name
    )
    return EndpointWrite.REPLACED


async def delete_endpoint(conn: Conn, org: str, name: str, now: float) -> tuple[EndpointWrite, int]:
    row = await conn.fetchrow("SELECT owner, deleted FROM endpoints WHERE org = $1 AND name = $2 FOR UPDATE", org, name)
    if row is None or row[1]:
        return EndpointWrite.NOT_FOUND, 0
    if row[0] == "file":
        return EndpointWrite.FILE_OWNED, 0
    await conn.execute(
        "UPDATE endpoints SET deleted = true, version = version + 1 WHERE org = $1 AND name = $2", org, name
    )
    # Nothing would ever claim them again: fail them (dead letter, replayable should the
    # endpoint come back). A lease under way is cut: its result will not apply.
    status = await conn.execute(
        "UPDATE deliveries SET state = 'failed', lease_token = NULL, lease_until = NULL, last_error = $1, "
        "updated_at = $2 WHERE org = $3 AND endpoint = $4 AND state IN ('pending', 'parked')",
        DELETED_ENDPOINT_ERROR,
        now,
        org,
        name,
    )
    return EndpointWrite.DELETED, int(status.split()[-1])
