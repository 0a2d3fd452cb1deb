"""The SQLite store's own small facts (table ``store_meta``): the readiness probe's write,
and the clock mark of the last schedule rebase."""

from __future__ import annotations

import sqlite3
import time

from gateway.store.dbthread import immediate


def probe_transaction(conn: sqlite3.Connection) -> None:
    """One durable write (an fsync'd commit), as small as a commit gets: whether the store
    can commit at all, when nothing else has committed lately (``CommitHealth``)."""
    with immediate(conn):
        conn.execute(
            "INSERT INTO store_meta (key, value) VALUES ('probe', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (time.time(),),
        )


def rebase_transaction(conn: sqlite3.Connection, now: float) -> float:
    """If the store holds times later than ``now``, the clock went back since they were
    written (a wall-clock step across a restart: within one process ``SteadyClock`` never
    steps). Move every pending retry's due time earlier by that much, so that none waits
    longer than its schedule because the clock moved; return the shift (0: none needed).

    The latest times written are those of the newest attempt and the newest delivery: two
    lookups by primary key. A retry was scheduled at a completion, which wrote an attempt
    started at most a delivery timeout before it. The mark accounted for is kept, so a
    second start before anything new is written does not shift again.
    """
    with immediate(conn):
        latest = [
            row[0]
            for row in conn.execute(
                "SELECT (SELECT at FROM attempts ORDER BY id DESC LIMIT 1) "
                "UNION ALL SELECT (SELECT created_at FROM deliveries ORDER BY id DESC LIMIT 1) "
                "UNION ALL SELECT (SELECT value FROM store_meta WHERE key = 'clock_rebased')"
            )
        ]
        attempt, delivery, rebased = latest
        mark = max((t for t in (attempt, delivery) if t is not None), default=None)
        if mark is None or mark <= now or (rebased is not None and mark <= rebased):
            return 0.0
        shift = float(mark - now)
        conn.execute(
            "UPDATE deliveries SET next_attempt_at = next_attempt_at - ? "
            "WHERE state = 'pending' AND last_error IS NOT NULL AND next_attempt_at > ?",
            (shift, now),
        )
        conn.execute(
            "INSERT INTO store_meta (key, value) VALUES ('clock_rebased', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (mark,),
        )
    return shift
