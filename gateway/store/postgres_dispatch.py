"""The dispatcher's statements for PostgreSQL: the ``sqlite_dispatch`` rules, shared by many processes.

A claim is one statement: per endpoint, the due rows (retries due on their schedule, then
fresh deliveries oldest first; none whose ordered shipment has an earlier pending or parked
delivery) are locked ``FOR UPDATE SKIP LOCKED``
and leased in the same ``UPDATE``, so two dispatchers never take the same row and neither
waits for the other. A lease outlives its transaction; every completion is fenced by it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

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
from gateway.store.pgconn import Conn
from gateway.store.postgres_ingest import WAKE_CHANNEL

#: Not behind an earlier pending or parked delivery of its shipment, on an ordered endpoint.
_IN_ORDER = """(NOT d.ordered OR NOT EXISTS (
                SELECT 1 FROM deliveries p
                WHERE p.org = d.org AND p.endpoint = d.endpoint AND p.shipment_key = d.shipment_key
                  AND p.state IN ('pending', 'parked') AND p.seq < d.seq))"""

#: Per endpoint, its due retries first, then its fresh deliveries (always due) in the slots
#: left: the rule of ``sqlite_dispatch._CANDIDATES``, each half a range of its own partial
#: index. Two lateral joins, not a UNION: row locks are not allowed under one.
_CLAIM = f"""
WITH wanted AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS f (org, endpoint, slots)
), retries AS (
    SELECT f.org, f.endpoint, c.id
    FROM wanted f
    CROSS JOIN LATERAL (
        SELECT d.id FROM deliveries d
        WHERE d.org = f.org AND d.endpoint = f.endpoint AND d.state = 'pending' AND d.last_error IS NOT NULL
          AND d.next_attempt_at <= $4 AND (d.lease_until IS NULL OR d.lease_until <= $4) AND {_IN_ORDER}
        ORDER BY d.next_attempt_at, d.id
        LIMIT f.slots
        FOR UPDATE SKIP LOCKED
    ) c
), fresh AS (
    SELECT c.id
    FROM wanted f
    CROSS JOIN LATERAL (
        SELECT d.id FROM deliveries d
        WHERE d.org = f.org AND d.endpoint = f.endpoint AND d.state = 'pending' AND d.last_error IS NULL
          AND (d.lease_until IS NULL OR d.lease_until <= $4) AND {_IN_ORDER}
        ORDER BY d.next_attempt_at, d.id
        LIMIT f.slots - (SELECT count(*) FROM retries r WHERE r.org = f.org AND r.endpoint = f.endpoint)
        FOR UPDATE SKIP LOCKED
    ) c
), picked AS (
    SELECT id FROM retries UNION ALL SELECT id FROM fresh
)
UPDATE deliveries d SET lease_token = $5, lease_until = $4 + $6, attempt_count = d.attempt_count + 1, updated_at = $4
FROM picked WHERE d.id = picked.id
RETURNING d.id, d.event_id, d.org, d.endpoint, d.kind, d.attempt_count, d.created_at,
    COALESCE(d.payload, (SELECT n.envelope FROM notifications n WHERE n.event_id = d.event_id))
"""


async def claim(conn: Conn, now: float, free: dict[tuple[str, str], int], lease: float) -> list[ClaimedDelivery]:
    wanted = [(org, endpoint, slots) for (org, endpoint), slots in free.items() if slots > 0]
    if not wanted:
        return []
    token = uuid.uuid4().hex
    orgs, endpoints, slots = (list(c) for c in zip(*wanted, strict=True))
    rows = await conn.fetch(_CLAIM, orgs, endpoints, slots, now, token, lease)
    claimed = [
        ClaimedDelivery(
            id=r[0],
            event_id=r[1],
            org=r[2],
            endpoint=r[3],
            kind=r[4],
            attempt=r[5],
            lease_token=token,
            body=bytes(r[7]),
            created_at=r[6],
        )
        for r in rows
    ]
    claimed.sort(key=lambda c: c.id)
    return claimed


async def _disable(conn: Conn, org: str, endpoint: str, reason: str, now: float) -> bool:
    status = await conn.execute(
        "UPDATE endpoints SET disabled = true, disabled_reason = $1, disabled_at = $2 "
        "WHERE org = $3 AND name = $4 AND NOT disabled",
        reason,
        now,
        org,
        endpoint,
    )
    # Deliveries under lease finish their attempt; their completion parks them if needed.
    await conn.execute(
        "UPDATE deliveries SET state = 'parked', updated_at = $1 WHERE org = $2 AND endpoint = $3 "
        "AND state = 'pending' AND (lease_until IS NULL OR lease_until <= $1)",
        now,
        org,
        endpoint,
    )
    return bool(status != "UPDATE 0")


async def _record_failure(conn: Conn, c: Completion, now: float) -> str | None:
    row = await conn.fetchrow(
        "UPDATE endpoints SET failing_since = COALESCE(failing_since, $1), last_error = $2 "
        "WHERE org = $3 AND name = $4 RETURNING failing_since, disabled",
        c.attempt.at,
        c.attempt.error,
        c.org,
        c.endpoint,
    )
    if c.disable_after is None or row is None:
        return None
    if not row[1] and now - row[0] >= c.disable_after:
        reason = f"no successful delivery for {int(now - row[0])}s"
        if await _disable(conn, c.org, c.endpoint, reason, now):
            return c.endpoint
    return None


_STATES = {Verdict.RETRY: "pending", Verdict.FAILED: "failed", Verdict.GONE: "parked"}


async def _apply_failure(conn: Conn, c: Completion, now: float) -> CompletionOutcome:
    a = c.attempt
    status = await conn.execute(
        "UPDATE deliveries SET state = CASE WHEN $1 = 'pending' AND EXISTS (SELECT 1 FROM endpoints e "
        "  WHERE e.org = deliveries.org AND e.name = deliveries.endpoint AND e.disabled) "
        "  THEN 'parked' ELSE $1 END, "
        "next_attempt_at = COALESCE($2, next_attempt_at), lease_token = NULL, lease_until = NULL, "
        "last_status = $3, last_error = $4, updated_at = $5 WHERE id = $6 AND lease_token = $7",
        _STATES[c.verdict],
        c.next_attempt_at,
        a.status_code,
        failure_text(a),
        now,
        c.delivery_id,
        c.lease_token,
    )
    if status == "UPDATE 0":
        return CompletionOutcome(applied=False)
    await conn.execute(
        "INSERT INTO attempts (delivery_id, at, status_code, duration_ms, error, response_excerpt) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        c.delivery_id,
        a.at,
        a.status_code,
        a.duration_ms,
        a.error,
        a.response_excerpt,
    )
    if c.verdict is Verdict.GONE:
        disabled = await _disable(conn, c.org, c.endpoint, "the endpoint answered 410 Gone", now)
        return CompletionOutcome(applied=True, disabled_endpoint=c.endpoint if disabled else None)
    return CompletionOutcome(applied=True, disabled_endpoint=await _record_failure(conn, c, now))


# Every 2xx of a batch in one statement: a delivery's row and its attempt, fenced by the lease.
_DELIVERED = """
WITH done AS (
    UPDATE deliveries d SET state = 'delivered', lease_token = NULL, lease_until = NULL, last_status = c.status,
        last_error = NULL, updated_at = $4
    FROM unnest($1::bigint[], $2::text[], $3::int[]) AS c (id, token, status)
    WHERE d.id = c.id AND d.lease_token = c.token
    RETURNING d.id
), logged AS (
    INSERT INTO attempts (delivery_id, at, status_code, duration_ms, error, response_excerpt)
    SELECT a.id, a.at, a.status, a.duration, NULL, a.excerpt
    FROM unnest($1::bigint[], $5::float8[], $3::int[], $6::float8[], $7::text[])
        AS a (id, at, status, duration, excerpt)
    WHERE a.id IN (SELECT id FROM done)
)
SELECT id FROM done
"""


async def _complete_delivered(conn: Conn, delivered: list[Completion], now: float) -> set[int]:
    """The common case, a 2xx, for the whole batch; the ids whose lease still held."""
    rows = await conn.fetch(
        _DELIVERED,
        [c.delivery_id for c in delivered],
        [c.lease_token for c in delivered],
        [c.attempt.status_code for c in delivered],
        now,
        [c.attempt.at for c in delivered],
        [c.attempt.duration_ms for c in delivered],
        [c.attempt.response_excerpt for c in delivered],
    )
    return {r[0] for r in rows}


async def _record_success(conn: Conn, org: str, endpoint: str, at: float) -> None:
    await conn.execute(
        "UPDATE endpoints SET last_success_at = $1, failing_since = NULL WHERE org = $2 AND name = $3",
        at,
        org,
        endpoint,
    )


async def complete(conn: Conn, completions: Sequence[Completion], now: float) -> list[CompletionOutcome]:
    """In the caller's transaction, with the rules of ``sqlite_dispatch.complete_transaction``:
    the 2xx first, all at once; then per endpoint its latest success and its failures in
    order, each failure after the successes. Endpoint rows are taken in (org, endpoint)
    order, so two processes completing for the same endpoints never deadlock."""
    delivered = [c for c in completions if c.verdict is Verdict.DELIVERED]
    applied = await _complete_delivered(conn, delivered, now) if delivered else set()
    outcomes = {c.delivery_id: CompletionOutcome(applied=c.delivery_id in applied) for c in delivered}
    successes: dict[tuple[str, str], float] = {}
    for c in delivered:
        if c.delivery_id in applied:
            key = (c.org, c.endpoint)
            successes[key] = max(c.attempt.at, successes.get(key, c.attempt.at))
    failures: dict[tuple[str, str], list[Completion]] = {}
    for c in completions:
        if c.verdict is not Verdict.DELIVERED:
            failures.setdefault((c.org, c.endpoint), []).append(c)
    for org, endpoint in sorted(successes.keys() | failures.keys()):
        at = successes.get((org, endpoint))
        if at is not None:
            await _record_success(conn, org, endpoint, at)
        for c in failures.get((org, endpoint), []):
            outcomes[c.delivery_id] = await _apply_failure(conn, c, now)
    return [outcomes[c.delivery_id] for c in completions]


async def release(conn: Conn, leases: Sequence[tuple[int, str]]) -> None:
    ids, tokens = (list(c) for c in zip(*leases, strict=True))
    # A delivery given back while its endpoint is disabled is parked, as the disable would
    # have parked it had it not been leased then (sqlite_dispatch.release_transaction).
    await conn.execute(
        "UPDATE deliveries d SET lease_token = NULL, lease_until = NULL, attempt_count = d.attempt_count - 1, "
        "state = CASE WHEN d.state = 'pending' AND EXISTS (SELECT 1 FROM endpoints e WHERE e.org = d.org "
        "AND e.name = d.endpoint AND e.disabled) THEN 'parked' ELSE d.state END "
        "FROM unnest($1::bigint[], $2::text[]) AS l (id, token) WHERE d.id = l.id AND d.lease_token = l.token",
        ids,
        tokens,
    )
    await conn.execute(f"NOTIFY {WAKE_CHANNEL}")


async def set_disabled(conn: Conn, org: str, endpoint: str, disabled: bool, reason: str | None, now: float) -> bool:
    exists = await conn.fetchval(
        "SELECT true FROM endpoints WHERE org = $1 AND name = $2 AND NOT deleted FOR UPDATE", org, endpoint
    )
    if exists is None:
        return False
    if disabled:
        await _disable(conn, org, endpoint, reason or "disabled by an operator", now)
        return True
    await conn.execute(
        "UPDATE endpoints SET disabled = false, disabled_reason = NULL, disabled_at = NULL, failing_since = NULL "
        "WHERE org = $1 AND name = $2",
        org,
        endpoint,
    )
    # Parked rows resume in their original order: the claim still orders by seq.
    await conn.execute(
        "UPDATE deliveries SET state = 'pending', next_attempt_at = $1, updated_at = $1 "
        "WHERE org = $2 AND endpoint = $3 AND state = 'parked'",
        now,
        org,
        endpoint,
    )
    await conn.execute(f"NOTIFY {WAKE_CHANNEL}")
    return True


async def endpoint_records(conn: Conn) -> list[EndpointRecord]:
    rows = await conn.fetch(
        "SELECT org, name, owner, config, version, disabled, disabled_reason, last_success_at, failing_since, "
        "last_error FROM endpoints WHERE NOT deleted ORDER BY org, name"
    )
    return [
        EndpointRecord(
            org=r[0],
            name=r[1],
            owner=r[2],
            config=EndpointConfig.model_validate_json(r[3]),
            version=r[4],
            disabled=r[5],
            disabled_reason=r[6],
            last_success_at=r[7],
            failing_since=r[8],
            last_error=r[9],
        )
        for r in rows
    ]


_DELIVERY_COLUMNS = "id, event_id, org, endpoint, state, attempt_count, next_attempt_at, last_status, last_error"


def _view(row: asyncpg.Record) -> DeliveryView:
    return DeliveryView(*row)


async def list_deliveries(
    conn: Conn, org: str | None, endpoint: str | None, state: str | None, after_id: int, limit: int
) -> list[DeliveryView]:
    rows = await conn.fetch(
        f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE id > $1 AND ($2::text IS NULL OR org = $2) "
        "AND ($3::text IS NULL OR endpoint = $3) AND ($4::text IS NULL OR state = $4) ORDER BY id LIMIT $5",
        after_id,
        org,
        endpoint,
        state,
        limit,
    )
    return [_view(row) for row in rows]


async def retry_delivery(conn: Conn, delivery_id: int, now: float) -> DeliveryView | None:
    row = await conn.fetchrow(
        "UPDATE deliveries SET state = CASE WHEN EXISTS (SELECT 1 FROM endpoints e WHERE e.org = deliveries.org "
        "AND e.name = deliveries.endpoint AND e.disabled) THEN 'parked' ELSE 'pending' END, "
        f"attempt_count = 0, next_attempt_at = $1, updated_at = $1 WHERE id = $2 AND state = 'failed' "
        f"RETURNING {_DELIVERY_COLUMNS}",
        now,
        delivery_id,
    )
    if row is None:
        return None
    await conn.execute(f"NOTIFY {WAKE_CHANNEL}")
    return _view(row)


async def recover(conn: Conn, org: str, endpoint: str, since: float, until: float, now: float) -> int:
    disabled = await conn.fetchval("SELECT disabled FROM endpoints WHERE org = $1 AND name = $2", org, endpoint)
    status = await conn.execute(
        "UPDATE deliveries SET state = $1, attempt_count = 0, next_attempt_at = $2, updated_at = $2 "
        "WHERE org = $3 AND endpoint = $4 AND state = 'failed' AND created_at >= $5 AND created_at < $6",
        "parked" if disabled else "pending",
        now,
        org,
        endpoint,
        since,
        until,
    )
    count = int(status.split()[-1])
    if count:
        await conn.execute(f"NOTIFY {WAKE_CHANNEL}")
    return count
