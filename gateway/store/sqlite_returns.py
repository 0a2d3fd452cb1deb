"""Returns and their QC updates for SQLite; a QC update is an outbox row with its own body."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from gateway.store.base import ReturnRecord
from gateway.store.dbthread import immediate

RETURNS_SYSTEM_PREFIX = "returns:"

_COLUMNS = (
    "org, return_order_code, forward_order_code, returns_system, awb, transporter, leg_id, event_id, "
    "qc_status, created_at"
)


def _record(row: Sequence[object]) -> ReturnRecord:
    return ReturnRecord(*row)  # type: ignore[arg-type]  # _COLUMNS are ReturnRecord's fields, in order


def save_return(conn: sqlite3.Connection, r: ReturnRecord) -> tuple[ReturnRecord, bool]:
    with immediate(conn):
        existing = conn.execute(
            f"SELECT {_COLUMNS} FROM returns WHERE org = ? AND return_order_code = ?", (r.org, r.return_order_code)
        ).fetchone()
        if existing is None and r.leg_id is not None:
            existing = conn.execute(
                f"SELECT {_COLUMNS} FROM returns WHERE org = ? AND leg_id = ?", (r.org, r.leg_id)
            ).fetchone()
        if existing is None:
            conn.execute(
                f"INSERT INTO returns ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
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
                ),
            )
        elif existing[6] is None and r.leg_id is not None:
            conn.execute(
                "UPDATE returns SET leg_id = ? WHERE org = ? AND return_order_code = ?",
                (r.leg_id, r.org, existing[1]),
            )
    return (r, True) if existing is None else (_record(existing), False)


def get_return(conn: sqlite3.Connection, org: str, code: str) -> ReturnRecord | None:
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM returns WHERE org = ? AND return_order_code = ?", (org, code)
    ).fetchone()
    return None if row is None else _record(row)


def returns_for_legs(conn: sqlite3.Connection, org: str, leg_ids: Sequence[int]) -> list[ReturnRecord]:
    if not leg_ids:
        return []
    marks = ",".join("?" * len(leg_ids))
    rows = conn.execute(f"SELECT {_COLUMNS} FROM returns WHERE org = ? AND leg_id IN ({marks})", (org, *leg_ids))
    return [_record(row) for row in rows]


def add_processing_update(
    conn: sqlite3.Connection,
    org: str,
    code: str,
    system: str,
    qc_status: str,
    body: bytes,
    webhook_id: str,
    now: float,
) -> int:
    with immediate(conn):
        update_id = conn.execute(
            "INSERT INTO processing_updates (org, return_order_code, webhook_id, body, received_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (org, code, webhook_id, body, now),
        ).lastrowid
        conn.execute("UPDATE returns SET qc_status = ? WHERE org = ? AND return_order_code = ?", (qc_status, org, code))
        # The update's own id orders QC results of one return (they share a shipment key).
        delivery_id = conn.execute(
            "INSERT INTO deliveries (seq, event_id, org, endpoint, shipment_key, ordered, kind, state, "
            "next_attempt_at, created_at, updated_at, payload) "
            "VALUES (?, ?, ?, ?, ?, 1, 'returns_system', 'pending', ?, ?, ?, ?)",
            (update_id, webhook_id, org, RETURNS_SYSTEM_PREFIX + system, f"return:{code}", now, now, now, body),
        ).lastrowid
    return int(delivery_id or 0)
