"""Retention for PostgreSQL: delivered data older than ``store.retention`` goes (SPEC §10)."""

from __future__ import annotations

from gateway.store.pgconn import Conn

# As in SQLite's: the first row at or after the cut bounds the old ones by id, so a pass
# that finds nothing old does not read the whole table.
_NO_BOUND = 2**63 - 1


async def prune(conn: Conn, before: float, limit: int) -> int:
    events = [
        row[0]
        for row in await conn.fetch(
            "SELECT n.event_id FROM notifications n WHERE n.seq < COALESCE("
            "  (SELECT seq FROM notifications WHERE received_at >= $1 ORDER BY seq LIMIT 1), $3) "
            "AND n.received_at < $1 AND NOT EXISTS ("
            "  SELECT 1 FROM deliveries d WHERE d.event_id = n.event_id AND d.state <> 'delivered') "
            "ORDER BY n.seq LIMIT $2",
            before,
            limit,
            _NO_BOUND,
        )
    ]
    updates = [
        row[0]
        for row in await conn.fetch(
            "SELECT event_id FROM deliveries WHERE id < COALESCE("
            "  (SELECT id FROM deliveries WHERE created_at >= $1 ORDER BY id LIMIT 1), $3) "
            "AND kind = 'returns_system' AND state = 'delivered' AND created_at < $1 LIMIT $2",
            before,
            limit,
            _NO_BOUND,
        )
    ]
    gone = events + updates
    if gone:
        await conn.execute(
            "DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ANY($1::text[]))",
            gone,
        )
        await conn.execute("DELETE FROM deliveries WHERE event_id = ANY($1::text[])", gone)
        await conn.execute("DELETE FROM notifications WHERE event_id = ANY($1::text[])", events)
        await conn.execute("DELETE FROM processing_updates WHERE webhook_id = ANY($1::text[])", updates)
    # Claims whose holder died and that nobody took over since (not counted: no data).
    await conn.execute("DELETE FROM label_claims WHERE until < $1", before)
    return len(gone)
