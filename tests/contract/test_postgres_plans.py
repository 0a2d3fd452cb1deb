"""The PostgreSQL store's statements find rows by index, also on a database too new to have statistics.

A connection caches a statement's plan for life. One planned while the tables were empty
(no statistics yet; autovacuum may be off or slow) used to scan every leg key per batch.
``pg_stat_xact_user_tables`` counts the scans of the transaction in progress, so each
check runs its statements and reads the counts inside one store transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from helpers import T0, endpoint, event, job
from pgsupport import create_database, drop_database, dsn, new_name

from gateway.models import NotificationType as N
from gateway.store import postgres_dispatch
from gateway.store.base import AttemptRecord, ClaimedDelivery, Completion, IngestJob, Verdict
from gateway.store.pgconn import Conn, in_transaction
from gateway.store.postgres import PostgresStore
from gateway.store.postgres_ingest import PgEndpointCache, ingest_batch

#: Enough executions for every statement to settle on its cached (generic) plan.
SETTLE = 8

_SCANS = "SELECT relname, seq_scan FROM pg_stat_xact_user_tables WHERE seq_scan > 0 ORDER BY relname"


@pytest.fixture
async def conn(pg_template: str) -> AsyncIterator[asyncpg.Connection[object]]:
    name = new_name("gw_test")
    await create_database(name, pg_template)
    store = PostgresStore(dsn(name))
    await store.open()
    await store.sync_file_endpoints("acme", [endpoint("all"), endpoint("fifo", ordered=True)])
    await store.close()
    connection: asyncpg.Connection[object] = await asyncpg.connect(dsn(name))
    try:
        yield connection
    finally:
        await connection.close()
        await drop_database(name)


async def scans_of(conn: Conn, work: Callable[[Conn], Awaitable[object]]) -> list[tuple[str, int]]:
    async def run(c: Conn) -> list[tuple[str, int]]:
        await work(c)
        return [(r[0], r[1]) for r in await c.fetch(_SCANS)]

    return await in_transaction(conn, run)


def batch(i: int) -> list[IngestJob]:
    """A new shipment, an update of an earlier one, and a resent (duplicate) update."""
    return [
        job(event(f"NEW{i}", N.PICKED_UP, T0 + i)),
        job(event(f"NEW{max(0, i - 1)}", N.IN_TRANSIT, T0 + i + 1)),
        job(event(f"NEW{max(0, i - 1)}", N.IN_TRANSIT, T0 + i + 1)),
    ]


async def test_ingest_scans_no_table_after_planning_on_empty_ones(conn: asyncpg.Connection[object]) -> None:
    cache = PgEndpointCache()
    for i in range(SETTLE):
        await scans_of(conn, lambda c, i=i: ingest_batch(c, batch(i), cache))  # type: ignore[misc]
    assert await scans_of(conn, lambda c: ingest_batch(c, batch(SETTLE), cache)) == []
    # The batches did what they claim: an update of an existing leg and a duplicate.
    assert await conn.fetchval("SELECT count(*) FROM legs") == SETTLE + 1
    assert await conn.fetchval("SELECT count(*) FROM notifications") == 2 * (SETTLE + 1)


def completion(c: ClaimedDelivery, verdict: Verdict) -> Completion:
    status = 200 if verdict is Verdict.DELIVERED else 500
    return Completion(c.id, c.lease_token, c.org, c.endpoint, verdict, AttemptRecord(T0, status, 1.0, None, "ok"), T0)


async def test_claims_and_completions_scan_no_table_after_planning_on_empty_ones(
    conn: asyncpg.Connection[object],
) -> None:
    cache = PgEndpointCache()
    free = {("acme", "all"): 2, ("acme", "fifo"): 2}

    async def cycle(c: Conn) -> None:
        claimed = await postgres_dispatch.claim(c, T0 + 10_000, free, 30.0)
        assert claimed, "every cycle has work to claim"
        verdicts = [Verdict.DELIVERED, Verdict.RETRY]
        await postgres_dispatch.complete(c, [completion(d, verdicts[d.id % 2]) for d in claimed[1:]], T0)
        await postgres_dispatch.release(c, [(claimed[0].id, claimed[0].lease_token)])

    for i in range(SETTLE + 1):
        await scans_of(conn, lambda c, i=i: ingest_batch(c, batch(i), cache))  # type: ignore[misc]
    for _ in range(SETTLE):
        await scans_of(conn, cycle)
    assert await scans_of(conn, cycle) == []
