"""Returns and their QC updates for PostgreSQL (the ``sqlite_returns`` rules)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from gateway.store.base import ReturnRecord
from gateway.store.pgconn import Conn
from gateway.store.postgres_ingest import WAKE_CHANNEL, lock_key
from gateway.store.sqlite_returns import RETURNS_SYSTEM_PREFIX

_COLUMNS = (
    "org, return_order_code, forward_order_code, returns_system, awb, transporter, leg_id, event_id, "
    "qc_status, created_at"
)


def _record(row: asyncpg.Record) -> ReturnRecord:
    return ReturnRecord(*row)


async def save_return(conn: Conn, r: ReturnRecord) -> tuple[ReturnRecord, bool]:
    # Two processes may record the same return (or two codes of one leg) at once.
    await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_key(r.org, "returns", ""))
    existing = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM returns WHERE org = $1 AND return_order_code = $2", r.org, r.return_order_code
    )
    if existing is None and r.leg_id is not None:
        existing = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM returns WHERE org = $1 AND leg_id = $2 LIMIT 1", r.org, r.leg_id
        )
    if existing is None:
        await conn.execute(
            f"INSERT INTO returns ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            r.org,
            r.return_order_code,
            r.forward_order_code,
            r.returns_system,
            r.awb,
            r.transporter,
            r.leg_id,
            r.event_id,
            r.qc_status,
            r.created_at,
        )
        return r, True
    if existing[6] is None and r.leg_id is not None:
        await conn.execute(
            "UPDATE returns SET leg_id = $1 WHERE org = $2 AND return_order_code = $3", r.leg_id, r.org, existing[1]
        )
    return _record(existing), False


async def get_return(conn: Conn, org: str, code: str) -> ReturnRecord | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM returns WHERE org = $1 AND return_order_code = $2", org, code)
    return None if row is None else _record(row)


async def returns_for_legs(conn: Conn, org: str, leg_ids: Sequence[int]) -> list[ReturnRecord]:
    if not leg_ids:
        return []
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM returns WHERE org = $1 AND leg_id = ANY($2::bigint[])", org, list(leg_ids)
    )
    return [_record(row) for row in rows]


async def add_processing_update(
    conn: Conn, org: str, code: str, system: str, qc_status: str, body: bytes, webhook_id: str, now: float
) -> int:
    update_id = await conn.fetchval(
        "INSERT INTO processing_updates (org, return_order_code, webhook_id, body, received_at) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id",
        org,
        code,
        webhook_id,
        body,
        now,
    )
    await conn.execute(
        "UPDATE returns SET qc_status = $1 WHERE org = $2 AND return_order_code = $3", qc_status, org, code
    )
    # The update's own id orders QC results of one return (they share a shipment key).
    delivery_id = await conn.fetchval(
        "INSERT INTO deliveries (seq, event_id, org, endpoint, shipment_key, ordered, kind, state, "
        "next_attempt_at, created_at, updated_at, payload) "
        "VALUES ($1, $2, $3, $4, $5, true, 'returns_system', 'pending', $6, $6, $6, $7) RETURNING id",
        update_id,
        webhook_id,
        org,
        RETURNS_SYSTEM_PREFIX + system,
        f"return:{code}",
        now,
        body,
    )
    await conn.execute(f"NOTIFY {WAKE_CHANNEL}")
    return int(delivery_id)
