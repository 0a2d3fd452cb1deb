"""A pruning pass that finds nothing old must not read the whole table: it holds the
writer lock, and every webhook waits while it runs."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from gateway.store import sqlite_retention
from gateway.store.dbthread import close, connect
from gateway.store.sqlite import SqliteStore

NOW = 1_750_000_000.0
RETENTION = 30 * 86400.0


def store_with(path: Path, recent: int, old: int = 0) -> None:
    asyncio.run(_migrate(path))
    conn = sqlite3.connect(path)
    with conn:
        rows = [(f"evt_old{i}", NOW - RETENTION - 100 + i) for i in range(old)]
        rows += [(f"evt_new{i}", NOW - 1000 + i * 0.001) for i in range(recent)]
        conn.executemany(
            "INSERT INTO notifications (event_id, org, source, leg_id, notification_type, shipment_type, "
            "status_time, received_at, stale, dedupe_key, envelope) "
            "VALUES (?1, 'acme', 'shiprocket', 1, 'IN_TRANSIT', 'FORWARD', ?2, ?2, 0, ?1, x'7b7d')",
            rows,
        )
        conn.executemany(
            "INSERT INTO deliveries (seq, event_id, org, endpoint, shipment_key, ordered, state, "
            "next_attempt_at, created_at, updated_at) "
            "SELECT seq, event_id, 'acme', 'oms', '1', 1, 'delivered', received_at, received_at, received_at "
            "FROM notifications WHERE event_id = ?",
            [(event_id,) for event_id, _ in rows],
        )
    conn.close()


async def _migrate(path: Path) -> None:
    store = SqliteStore(path)
    await store.open()
    await store.close()


def steps_to_prune(path: Path) -> tuple[int, int]:
    """(VM steps in thousands, rows pruned) for one pass at NOW."""
    conn = connect(path)
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    conn.set_progress_handler(count, 1000)
    try:
        pruned = sqlite_retention.prune(conn, NOW - RETENTION, 2000)
    finally:
        close(conn)
    return steps, pruned


def test_a_pass_over_recent_rows_only_costs_the_same_for_any_table_size(tmp_path: Path) -> None:
    store_with(tmp_path / "small.db", recent=1_000)
    store_with(tmp_path / "large.db", recent=30_000)
    small, pruned_small = steps_to_prune(tmp_path / "small.db")
    large, pruned_large = steps_to_prune(tmp_path / "large.db")
    assert pruned_small == pruned_large == 0
    # Reading 30,000 rows of each table costs hundreds of thousands of steps.
    assert large <= small + 5, (small, large)


def test_old_rows_before_recent_ones_are_still_pruned(tmp_path: Path) -> None:
    store_with(tmp_path / "mixed.db", recent=3_000, old=50)
    _, pruned = steps_to_prune(tmp_path / "mixed.db")
    assert pruned == 50
    conn = sqlite3.connect(tmp_path / "mixed.db")
    remaining = conn.execute("SELECT COUNT(*), MIN(event_id LIKE 'evt_new%') FROM notifications").fetchone()
    conn.close()
    assert remaining == (3_000, 1)
