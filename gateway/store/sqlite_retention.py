"""Retention for SQLite: delivered data older than ``store.retention`` goes (SPEC §10)."""

from __future__ import annotations

import sqlite3

from gateway.store.dbthread import immediate


def _delete_deliveries(conn: sqlite3.Connection, where: str, params: list[object]) -> None:
    conn.execute(f"DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE {where})", params)
    conn.execute(f"DELETE FROM deliveries WHERE {where}", params)


# Rows are appended in time order, so the first row at or after the cut bounds the old
# ones by id. Without that bound, a pass that finds nothing old read the whole table under
# the writer lock: 0.5 s with 250,000 notifications, a stall of every webhook meanwhile.
_NO_BOUND = 2**63 - 1


def prune(conn: sqlite3.Connection, before: float, limit: int) -> int:
    with immediate(conn):
        events = [
            row[0]
            for row in conn.execute(
                "SELECT n.event_id FROM notifications n WHERE n.seq < COALESCE("
                "  (SELECT seq FROM notifications WHERE received_at >= ?1 ORDER BY seq LIMIT 1), ?3) "
                "AND n.received_at < ?1 AND NOT EXISTS ("
                "  SELECT 1 FROM deliveries d WHERE d.event_id = n.event_id AND d.state != 'delivered') "
                "ORDER BY n.seq LIMIT ?2",
                (before, limit, _NO_BOUND),
            )
        ]
        if events:
            marks = ",".join("?" * len(events))
            _delete_deliveries(conn, f"event_id IN ({marks})", list(events))
            conn.execute(f"DELETE FROM notifications WHERE event_id IN ({marks})", events)
        updates = [
            row[0]
            for row in conn.execute(
                "SELECT event_id FROM deliveries WHERE id < COALESCE("
                "  (SELECT id FROM deliveries WHERE created_at >= ?1 ORDER BY id LIMIT 1), ?3) "
                "AND kind = 'returns_system' AND state = 'delivered' AND created_at < ?1 LIMIT ?2",
                (before, limit, _NO_BOUND),
            )
        ]
        if updates:
            marks = ",".join("?" * len(updates))
            _delete_deliveries(conn, f"event_id IN ({marks})", list(updates))
            conn.execute(f"DELETE FROM processing_updates WHERE webhook_id IN ({marks})", updates)
        # Claims whose holder died and that nobody took over since (not counted: no data).
        conn.execute("DELETE FROM label_claims WHERE until < ?", (before,))
    return len(events) + len(updates)
