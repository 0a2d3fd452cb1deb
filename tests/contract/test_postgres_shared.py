"""What only a shared store has to get right: several processes on one PostgreSQL database.

Each ``PostgresStore`` here stands for one gateway process (its own pool).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from helpers import T0, endpoint, event, job
from pgsupport import create_database, drop_database, dsn, new_name

from gateway.models import NotificationType as N
from gateway.models import ShipmentType
from gateway.store.base import Store
from gateway.store.postgres import PostgresStore, apply_migrations

NOW = T0 + 1000


@pytest.fixture
async def stores(pg_template: str) -> AsyncIterator[list[PostgresStore]]:
    name = new_name("gw_test")
    await create_database(name, pg_template)
    opened = [PostgresStore(dsn(name), max_size=4) for _ in range(3)]
    try:
        for s in opened:
            await s.open()
        yield opened
    finally:
        for s in opened:
            await s.close()
        await drop_database(name)


async def test_migrations_from_processes_starting_together_apply_once(pg_template: str) -> None:
    name = new_name("gw_test")
    await create_database(name)
    try:
        conns = [await asyncpg.connect(dsn(name)) for _ in range(4)]
        try:
            applied = await asyncio.gather(*(apply_migrations(c) for c in conns))
            count = await conns[0].fetchval("SELECT count(*) FROM schema_migrations")
        finally:
            for c in conns:
                await c.close()
        assert sorted(len(a) for a in applied) == [0, 0, 0, count] and count >= 2
    finally:
        await drop_database(name)


async def test_concurrent_ingest_of_one_shipment_makes_one_leg_and_dedupes(stores: list[PostgresStore]) -> None:
    await stores[0].sync_file_endpoints("acme", [endpoint("all")])
    events = [event("SAME", N.IN_TRANSIT, T0 + i) for i in range(20)]
    # Every process receives every event (aggregators resend): 3 copies of each, at once.
    batches = [[job(e) for e in events] for _ in stores]
    outcomes = await asyncio.gather(*(s.ingest(b) for s, b in zip(stores, batches, strict=True)))
    results = [r for per_store in outcomes for o in per_store for r in o]  # type: ignore[union-attr]
    assert len({r.leg_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 20
    [leg] = await stores[1].shipment("acme", "SAME")
    assert len(leg.history) == 20 and leg.status_time == T0 + 19
    assert len(await stores[2].deliveries(org="acme", endpoint=None, state=None, after_id=0, limit=100)) == 20


async def test_concurrent_return_keys_resolve_to_one_leg(stores: list[PostgresStore]) -> None:
    r = ShipmentType.RETURN
    jobs = [
        job(event(None, N.RETURN_CREATED, T0, stype=r, return_order_id="R1", forward_awb="F1")),
        job(event(None, N.RETURN_PICKED_UP, T0 + 1, stype=r, return_order_id="R1", return_awb="RA1")),
        job(event("RA1", N.IN_TRANSIT, T0 + 2, stype=r)),
    ]
    await asyncio.gather(*(s.ingest([j]) for s, j in zip(stores, jobs, strict=True)))
    legs = await stores[0].shipment("acme", "RA1") + await stores[0].shipment("acme", "F1")
    # Arrival order decides whether the order-id event finds the AWB leg; never more than two
    # legs, and never one key on two legs.
    assert len({leg.leg_id for leg in legs}) <= 2
    async with stores[0].pool.acquire() as conn:
        keys = await conn.fetch("SELECT key, count(DISTINCT leg_id) FROM leg_keys GROUP BY key")
    assert all(count == 1 for _, count in keys)


async def test_concurrent_claims_never_share_a_delivery(stores: list[PostgresStore]) -> None:
    await stores[0].sync_file_endpoints("acme", [endpoint("hook", ordered=False, max_in_flight=1024)])
    await stores[0].ingest([job(event(f"A{i}", at=T0 + i)) for i in range(300)])
    free = {("acme", "hook"): 40}
    taken: list[int] = []
    for _ in range(4):
        rounds = await asyncio.gather(*(s.claim(NOW, free, 30.0) for s in stores))
        taken += [c.id for claimed in rounds for c in claimed]
    assert len(taken) == len(set(taken)) == 300


async def test_ordered_claims_across_processes_wait_for_the_earlier_delivery(stores: list[PostgresStore]) -> None:
    await stores[0].sync_file_endpoints("acme", [endpoint("hook")])
    for i in range(3):
        await stores[i].ingest([job(event("SAME", at=T0 + i))])
    first = await stores[0].claim(NOW, {("acme", "hook"): 5}, 30.0)
    others = await asyncio.gather(*(s.claim(NOW, {("acme", "hook"): 5}, 30.0) for s in stores[1:]))
    assert len(first) == 1 and others == [[], []]


async def test_ingest_wakes_listeners_of_every_process(stores: list[PostgresStore]) -> None:
    await stores[0].sync_file_endpoints("acme", [endpoint("hook")])
    woken = [asyncio.Event() for _ in stores]
    for s, flag in zip(stores, woken, strict=True):
        await s.listen(flag.set)
    await stores[2].ingest([job(event("A1"))])
    async with asyncio.timeout(5):
        for flag in woken:
            await flag.wait()


async def test_a_dropped_listen_connection_is_restored_and_wakes_again(stores: list[PostgresStore]) -> None:
    await stores[0].sync_file_endpoints("acme", [endpoint("hook")])
    woken = asyncio.Event()
    await stores[0].listen(woken.set)
    database = stores[0].dsn.rsplit("/", 1)[1]
    admin = await asyncpg.connect(stores[0].dsn)
    try:
        # What a server restart or a connection reaper does to the LISTEN session.
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'",
            database,
        )
        assert killed == 1
        async with asyncio.timeout(10):
            await woken.wait()  # the catch-up wake comes once LISTEN is in place again
        sessions = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'", database
        )
        assert sessions == 1
        woken.clear()
        await stores[1].ingest([job(event("A2"))])  # another process announces work
        async with asyncio.timeout(10):
            await woken.wait()
    finally:
        await admin.close()


async def test_a_job_the_database_refuses_fails_alone(stores: list[PostgresStore]) -> None:
    bad = job(event("A\x00B"))  # PostgreSQL text cannot hold NUL
    good = job(event("OK1"))
    outcomes = await stores[0].ingest([bad, good])
    assert isinstance(outcomes[0], Exception)
    assert isinstance(outcomes[1], list) and not outcomes[1][0].duplicate
    assert len(await stores[0].shipment("acme", "OK1")) == 1


async def test_the_database_clock_is_the_stores_clock(stores: list[PostgresStore]) -> None:
    store: Store = stores[0]
    from gateway.store.factory import store_clock

    clock = store_clock(store)
    async with stores[0].pool.acquire() as conn:
        server = await conn.fetchval("SELECT extract(epoch FROM clock_timestamp())::float8")
    assert abs(clock.now() - server) < 0.5
