"""Label and return-AWB results for PostgreSQL: the first result stored wins."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.store.pgconn import Conn

_BY_KEY = "SELECT result FROM labels WHERE org = $1 AND kind = $2 AND order_number = $3 AND shipment_code = $4"


async def label(conn: Conn, org: str, kind: str, order_number: str, shipment_code: str) -> dict[str, Any] | None:
    raw = await conn.fetchval(_BY_KEY, org, kind, order_number, shipment_code)
    return None if raw is None else dict(orjson.loads(raw))


async def label_by_order_id(conn: Conn, org: str, kind: str, order_id: str) -> dict[str, Any] | None:
    raw = await conn.fetchval(
        "SELECT result FROM labels WHERE org = $1 AND kind = $2 AND order_id = $3 ORDER BY created_at LIMIT 1",
        org,
        kind,
        order_id,
    )
    return None if raw is None else dict(orjson.loads(raw))


async def claim_label(
    conn: Conn, org: str, kind: str, order_number: str, shipment_code: str, token: str, now: float, until: float
) -> bool:
    """One statement: the row is inserted, or taken over when its claim ran out, or left."""
    holder = await conn.fetchval(
        "INSERT INTO label_claims (org, kind, order_number, shipment_code, token, until) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org, kind, order_number, shipment_code) DO UPDATE "
        "SET token = EXCLUDED.token, until = EXCLUDED.until WHERE label_claims.until <= $7 RETURNING token",
        org,
        kind,
        order_number,
        shipment_code,
        token,
        until,
        now,
    )
    return bool(holder == token)


async def release_label_claim(
    conn: Conn, org: str, kind: str, order_number: str, shipment_code: str, token: str
) -> None:
    await conn.execute(
        "DELETE FROM label_claims WHERE org = $1 AND kind = $2 AND order_number = $3 AND shipment_code = $4 "
        "AND token = $5",
        org,
        kind,
        order_number,
        shipment_code,
        token,
    )


async def save_label(
    conn: Conn,
    org: str,
    kind: str,
    order_number: str,
    shipment_code: str,
    order_id: str | None,
    result: dict[str, Any],
    now: float,
) -> tuple[dict[str, Any], bool]:
    """In the caller's transaction. Two processes saving at once: the primary key decides."""
    inserted = await conn.fetchval(
        "INSERT INTO labels (org, kind, order_number, shipment_code, order_id, result, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING true",
        org,
        kind,
        order_number,
        shipment_code,
        order_id,
        orjson.dumps(result).decode(),
        now,
    )
    stored = await conn.fetchval(_BY_KEY, org, kind, order_number, shipment_code)
    return dict(orjson.loads(stored)), bool(inserted)
