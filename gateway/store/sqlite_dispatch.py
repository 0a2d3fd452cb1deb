"""The dispatcher's transactions for SQLite: claim with a lease, complete fenced by it.

Each function runs whole on the writer thread; no transaction is ever held across an
HTTP call (the lease is the only thing that outlives the claim).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence

from gateway.routing import EndpointConfig
from gateway.store.base import (
    ClaimedDelivery,
    Completion,
    CompletionOutcome,
    DeliveryView,
    EndpointRecord,
    Verdict,
    failure_text,
)
from gateway.store.dbthread import immediate

#: Not behind an earlier pending or parked delivery of its shipment, on an ordered endpoint.
_IN_ORDER = """(d.ordered = 0 OR NOT EXISTS (
        SELECT 1 FROM deliveries p
        WHERE p.org = d.org AND p.endpoint = d.endpoint AND p.shipment_key = d.shipment_key
          AND p.state IN ('pending', 'parked') AND p.seq < d.seq))"""
#: Not under a lease. A lease ending more than one lease from now was taken on a clock that
#: has since gone back (a wall-clock step across a restart; in the process, ``SteadyClock``
#: never steps): only one process dispatches from a SQLite file, so its holder is gone.
_UNLEASED = "(d.lease_until IS NULL OR d.lease_until <= :now OR d.lease_until > :now + :lease)"

#: An endpoint's due retries first (a delivery with a failed attempt on record, due on its
#: schedule), then its fresh deliveries oldest first: ordered by due time alone, an endpoint
#: failing everything tried its whole backlog once before any delivery got a second attempt.
#: A fresh delivery is due from the moment it exists, whatever the clock says since: one
#: stored by a process whose clock ran ahead must not wait for the clock to catch up.
#: Each half is a range of its own partial index, named so that no statistics can make the
#: planner walk another (docs/decisions/0011-sqlite-claim-partial-indexes.md).
_CANDIDATES = f"""
SELECT id FROM (
    SELECT d.id FROM deliveries d INDEXED BY deliveries_retries
    WHERE d.org = :org AND d.endpoint = :endpoint AND d.state = 'pending' AND d.last_error IS NOT NULL
      AND d.next_attempt_at <= :now AND {_UNLEASED} AND {_IN_ORDER}
    ORDER BY d.next_attempt_at, d.id LIMIT :slots)
UNION ALL
SELECT id FROM (
    SELECT d.id FROM deliveries d INDEXED BY deliveries_fresh
    WHERE d.org = :org AND d.endpoint = :endpoint AND d.state = 'pending' AND d.last_error IS NULL
      AND {_UNLEASED} AND {_IN_ORDER}
    ORDER BY d.next_attempt_at, d.id LIMIT :slots)
LIMIT :slots
"""


def claim_transaction(
    conn: sqlite3.Connection, now: float, free: dict[tuple[str, str], int], lease: float
) -> list[ClaimedDelivery]:
    token = uuid.uuid4().hex
    # Not fsynced: a claim lost with the power leaves its deliveries pending, as they were.
    with immediate(conn, durable=False):
        ids: list[int] = []
        for (org, endpoint), slots in free.items():
            if slots > 0:
                params = {"org": org, "endpoint": endpoint, "now": now, "lease": lease, "slots": slots}
                ids.extend(row[0] for row in conn.execute(_CANDIDATES, params))
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = conn.execute(
            f"UPDATE deliveries SET lease_token = ?, lease_until = ?, attempt_count = attempt_count + 1, "
            f"updated_at = ? WHERE id IN ({marks}) "
            f"RETURNING id, event_id, org, endpoint, kind, attempt_count, payload, created_at",
            (token, now + lease, now, *ids),
        ).fetchall()
        event_ids = sorted({row[1] for row in rows if row[6] is None})
        envelopes: dict[str, bytes] = {}
        if event_ids:
            marks = ",".join("?" * len(event_ids))
            envelopes = dict(
                conn.execute(f"SELECT event_id, envelope FROM notifications WHERE event_id IN ({marks})", event_ids)
            )
    claimed = [
        ClaimedDelivery(
            id=row[0],
            event_id=row[1],
            org=row[2],
            endpoint=row[3],
            kind=row[4],
            attempt=row[5],
            lease_token=token,
            body=row[6] if row[6] is not None else envelopes[row[1]],
            created_at=row[7],
        )
        for row in rows
    ]
    claimed.sort(key=lambda c: c.id)
    return claimed


def _disable(conn: sqlite3.Connection, org: str, endpoint: str, reason: str, now: float) -> bool:
    cur = conn.execute(
        "UPDATE endpoints SET disabled = 1, disabled_reason = ?, disabled_at = ? "
        "WHERE org = ? AND name = ? AND disabled = 0",
        (reason, now, org, endpoint),
    )
    # Deliveries under lease finish their attempt; their completion parks them if needed.
    conn.execute(
        "UPDATE deliveries SET state = 'parked', updated_at = ? WHERE org = ? AND endpoint = ? "
        "AND state = 'pending' AND (lease_until IS NULL OR lease_until <= ?)",
        (now, org, endpoint, now),
    )
    return cur.rowcount > 0


def _record_failure(conn: sqlite3.Connection, c: Completion, now: float) -> str | None:
    conn.execute(
        "UPDATE endpoints SET failing_since = COALESCE(failing_since, ?), last_error = ? WHERE org = ? AND name = ?",
        (c.attempt.at, c.attempt.error, c.org, c.endpoint),
    )
    if c.disable_after is None:
        return None
    row = conn.execute(
        "SELECT failing_since, disabled FROM endpoints WHERE org = ? AND name = ?", (c.org, c.endpoint)
    ).fetchone()
    if row is not None and not row[1] and now - row[0] >= c.disable_after:
        reason = f"no successful delivery for {int(now - row[0])}s"
        if _disable(conn, c.org, c.endpoint, reason, now):
            return c.endpoint
    return None


#: Successes per endpoint seen in this batch, not yet written (the latest time wins).
_Successes = dict[tuple[str, str], float]


def _flush_successes(conn: sqlite3.Connection, successes: _Successes, key: tuple[str, str] | None = None) -> None:
    keys = list(successes) if key is None else [key] if key in successes else []
    for org, endpoint in keys:
        conn.execute(
            "UPDATE endpoints SET last_success_at = ?, failing_since = NULL WHERE org = ? AND name = ?",
            (successes.pop((org, endpoint)), org, endpoint),
        )


def _apply(conn: sqlite3.Connection, c: Completion, now: float, successes: _Successes) -> CompletionOutcome:
    a = c.attempt
    fence = (c.delivery_id, c.lease_token)
    if c.verdict is Verdict.DELIVERED:
        cur = conn.execute(
            "UPDATE deliveries SET state = 'delivered', lease_token = NULL, lease_until = NULL, last_status = ?, "
            "last_error = NULL, updated_at = ? WHERE id = ? AND lease_token = ?",
            (a.status_code, now, *fence),
        )
    else:
        state = {Verdict.RETRY: "pending", Verdict.FAILED: "failed", Verdict.GONE: "parked"}[c.verdict]
        cur = conn.execute(
            "UPDATE deliveries SET state = CASE WHEN ? = 'pending' AND EXISTS (SELECT 1 FROM endpoints e "
            "  WHERE e.org = deliveries.org AND e.name = deliveries.endpoint AND e.disabled = 1) "
            "  THEN 'parked' ELSE ? END, "
            "next_attempt_at = COALESCE(?, next_attempt_at), lease_token = NULL, lease_until = NULL, "
            "last_status = ?, last_error = ?, updated_at = ? WHERE id = ? AND lease_token = ?",
            (state, state, c.next_attempt_at, a.status_code, failure_text(a), now, *fence),
        )
    if cur.rowcount == 0:
        return CompletionOutcome(applied=False)
    conn.execute(
        "INSERT INTO attempts (delivery_id, at, status_code, duration_ms, error, response_excerpt) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (c.delivery_id, a.at, a.status_code, a.duration_ms, a.error, a.response_excerpt),
    )
    key = (c.org, c.endpoint)
    if c.verdict is Verdict.DELIVERED:
        # One endpoint row update per batch, not per delivery: it is the same row each time.
        successes[key] = max(a.at, successes.get(key, a.at))
        return CompletionOutcome(applied=True)
    # A failure after a success in the same batch must see that success first.
    _flush_successes(conn, successes, key)
    if c.verdict is Verdict.GONE:
        disabled = _disable(conn, c.org, c.endpoint, "the endpoint answered 410 Gone", now)
        return CompletionOutcome(applied=True, disabled_endpoint=c.endpoint if disabled else None)
    return CompletionOutcome(applied=True, disabled_endpoint=_record_failure(conn, c, now))


def _complete_delivered(
    conn: sqlite3.Connection, delivered: list[Completion], now: float, successes: _Successes
) -> dict[int, CompletionOutcome]:
    """The common case, a 2xx, for a whole batch at once (executemany loops in C)."""
    marks = ",".join("?" * len(delivered))
    tokens = dict(
        conn.execute(
            f"SELECT id, lease_token FROM deliveries WHERE id IN ({marks})", [c.delivery_id for c in delivered]
        )
    )
    ours = [c for c in delivered if tokens.get(c.delivery_id) == c.lease_token]
    conn.executemany(
        "UPDATE deliveries SET state = 'delivered', lease_token = NULL, lease_until = NULL, last_status = ?, "
        "last_error = NULL, updated_at = ? WHERE id = ?",
        [(c.attempt.status_code, now, c.delivery_id) for c in ours],
    )
    conn.executemany(
        "INSERT INTO attempts (delivery_id, at, status_code, duration_ms, error, response_excerpt) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                c.delivery_id,
                c.attempt.at,
                c.attempt.status_code,
                c.attempt.duration_ms,
                None,
                c.attempt.response_excerpt,
            )
            for c in ours
        ],
    )
    for c in ours:
        key = (c.org, c.endpoint)
        successes[key] = max(c.attempt.at, successes.get(key, c.attempt.at))
    applied = {c.delivery_id for c in ours}
    return {c.delivery_id: CompletionOutcome(applied=c.delivery_id in applied) for c in delivered}


def complete_transaction(
    conn: sqlite3.Connection, completions: Sequence[Completion], now: float
) -> list[CompletionOutcome]:
    # Not fsynced: a completion lost with the power means the delivery is sent again
    # (at least once), and the next durable commit (any ingest) carries it anyway.
    with immediate(conn, durable=False):
        successes: _Successes = {}
        delivered = [c for c in completions if c.verdict is Verdict.DELIVERED]
        outcomes = _complete_delivered(conn, delivered, now, successes) if delivered else {}
        for c in completions:  # failures, in order, each after the successes it follows
            if c.verdict is not Verdict.DELIVERED:
                outcomes[c.delivery_id] = _apply(conn, c, now, successes)
        _flush_successes(conn, successes)
    return [outcomes[c.delivery_id] for c in completions]


def release_transaction(conn: sqlite3.Connection, leases: Sequence[tuple[int, str]]) -> None:
    with immediate(conn, durable=False):
        # A delivery given back while its endpoint is disabled is parked, as the disable
        # would have parked it had it not been leased then.
        conn.executemany(
            "UPDATE deliveries SET lease_token = NULL, lease_until = NULL, attempt_count = attempt_count - 1, "
            "state = CASE WHEN state = 'pending' AND EXISTS (SELECT 1 FROM endpoints e WHERE e.org = deliveries.org "
            "AND e.name = deliveries.endpoint AND e.disabled = 1) THEN 'parked' ELSE state END "
            "WHERE id = ? AND lease_token = ?",
            leases,
        )


def set_disabled_transaction(
    conn: sqlite3.Connection, org: str, endpoint: str, disabled: bool, reason: str | None, now: float
) -> bool:
    with immediate(conn):
        exists = conn.execute(
            "SELECT 1 FROM endpoints WHERE org = ? AND name = ? AND deleted = 0", (org, endpoint)
        ).fetchone()
        if exists is not None:
            if disabled:
                _disable(conn, org, endpoint, reason or "disabled by an operator", now)
            else:
                conn.execute(
                    "UPDATE endpoints SET disabled = 0, disabled_reason = NULL, disabled_at = NULL, "
                    "failing_since = NULL WHERE org = ? AND name = ?",
                    (org, endpoint),
                )
                # Parked rows resume in their original order: the claim still orders by seq.
                conn.execute(
                    "UPDATE deliveries SET state = 'pending', next_attempt_at = ?, updated_at = ? "
                    "WHERE org = ? AND endpoint = ? AND state = 'parked'",
                    (now, now, org, endpoint),
                )
    return exists is not None


def endpoint_records(conn: sqlite3.Connection) -> list[EndpointRecord]:
    rows = conn.execute(
        "SELECT org, name, owner, config, version, disabled, disabled_reason, last_success_at, failing_since, "
        "last_error FROM endpoints WHERE deleted = 0 ORDER BY org, name"
    ).fetchall()
    return [
        EndpointRecord(
            org=r[0],
            name=r[1],
            owner=r[2],
            config=EndpointConfig.model_validate_json(r[3]),
            version=r[4],
            disabled=bool(r[5]),
            disabled_reason=r[6],
            last_success_at=r[7],
            failing_since=r[8],
            last_error=r[9],
        )
        for r in rows
    ]


_DELIVERY_COLUMNS = "id, event_id, org, endpoint, state, attempt_count, next_attempt_at, last_status, last_error"


def _view(row: tuple[object, ...]) -> DeliveryView:
    return DeliveryView(*row)  # type: ignore[arg-type]  # _DELIVERY_COLUMNS are DeliveryView's fields, in order


def list_deliveries(
    conn: sqlite3.Connection, org: str | None, endpoint: str | None, state: str | None, after_id: int, limit: int
) -> list[DeliveryView]:
    clauses: list[str] = ["id > ?"]
    params: list[object] = [after_id]
    for column, value in (("org", org), ("endpoint", endpoint), ("state", state)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    rows = conn.execute(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?",
        (*params, limit),
    ).fetchall()
    return [_view(row) for row in rows]


def retry_transaction(conn: sqlite3.Connection, delivery_id: int, now: float) -> DeliveryView | None:
    with immediate(conn):
        row = conn.execute(
            f"UPDATE deliveries SET state = CASE WHEN EXISTS (SELECT 1 FROM endpoints e WHERE e.org = deliveries.org "
            f"AND e.name = deliveries.endpoint AND e.disabled = 1) THEN 'parked' ELSE 'pending' END, "
            f"attempt_count = 0, next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'failed' "
            f"RETURNING {_DELIVERY_COLUMNS}",
            (now, now, delivery_id),
        ).fetchone()
    return None if row is None else _view(row)


def recover_transaction(
    conn: sqlite3.Connection, org: str, endpoint: str, since: float, until: float, now: float
) -> int:
    with immediate(conn):
        disabled = conn.execute("SELECT disabled FROM endpoints WHERE org = ? AND name = ?", (org, endpoint)).fetchone()
        state = "parked" if disabled and disabled[0] else "pending"
        cur = conn.execute(
            "UPDATE deliveries SET state = ?, attempt_count = 0, next_attempt_at = ?, updated_at = ? "
            "WHERE org = ? AND endpoint = ? AND state = 'failed' AND created_at >= ? AND created_at < ?",
            (state, now, now, org, endpoint, since, until),
        )
    return cur.rowcount
