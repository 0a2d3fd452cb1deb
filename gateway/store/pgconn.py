"""What the PostgreSQL modules accept as a connection, and how they run a transaction on it."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Conn: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"

T = TypeVar("T")

#: How every store transaction starts, in the one round trip BEGIN costs anyway. Its
#: statements are keyed lookups and writes driven by arrays of any length, so an index
#: and a nested loop are always the right plan. Left to its own choice the planner picks
#: plans from statistics that a new database does not have yet (a hash join over a
#: sequential scan of every leg key, per batch), or re-plans on every call because each
#: array's length changes the estimate; and a connection keeps a cached plan for life.
BEGIN_STORE_TRANSACTION = (
    "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off; "
    "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"
)


async def in_transaction(conn: Conn, fn: Callable[[Conn], Awaitable[T]]) -> T:
    """``fn(conn)`` in one transaction begun with ``BEGIN_STORE_TRANSACTION``."""
    await conn.execute(BEGIN_STORE_TRANSACTION)
    try:
        result = await fn(conn)
    except BaseException:
        # A connection that broke mid-transaction is dropped by the pool on release.
        with contextlib.suppress(Exception):
            await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")
    return result
