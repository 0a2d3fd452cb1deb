"""Whether the store can commit (``CommitHealth``, ``/readyz``'s half in the store).

Reads go on while commits fail or hang, so the store records its commits and, when they
say nothing recent, commits a probe with a deadline. Each backend is made unable to
commit for real: its writer held up (SQLite's writer lock, a PostgreSQL table lock, as a
stalled disk would), and a PostgreSQL database turned read-only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from helpers import endpoint, event, job
from pgsupport import dsn
from support import wait_until

from gateway.clock import ManualClock
from gateway.errors import StoreUnavailable
from gateway.ingest import Ingestor
from gateway.store import health
from gateway.store.base import Store
from gateway.store.dbthread import writer_lock_path
from gateway.store.postgres import PostgresStore
from gateway.store.sqlite import SqliteStore

pytestmark = pytest.mark.parametrize("store", ["sqlite", "sqlite-child", "postgres"], indirect=True)


def counting(store: Store) -> tuple[list[float], Callable[[], Awaitable[None]]]:
    probes: list[float] = []

    async def probe() -> None:
        probes.append(time.monotonic())
        await store.probe_commit()

    return probes, probe


async def test_a_committing_store_is_ready_and_an_ingest_spares_the_probe(store: Store) -> None:
    probes, probe = counting(store)
    assert await store.commits.check(probe) is None  # nothing committed yet: one probe
    assert len(probes) == 1
    await store.sync_file_endpoints("acme", [endpoint("hook")])
    [outcome] = await store.ingest([job(event("H1"))])
    assert isinstance(outcome, list)
    for _ in range(3):  # a commit this recent is proof enough
        assert await store.commits.check(probe) is None
    assert len(probes) == 1


@contextlib.asynccontextmanager
async def writes_held_up(store: Store) -> AsyncIterator[None]:
    """Every commit waits, as on a stalled disk, until the block ends."""
    if isinstance(store, SqliteStore):
        fd = os.open(writer_lock_path(store.path), os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
        return
    assert isinstance(store, PostgresStore)
    conn = await asyncpg.connect(store.dsn)
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE store_meta, deliveries IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


async def test_a_store_whose_commits_hang_is_not_ready_and_recovers_by_itself(store: Store) -> None:
    async with writes_held_up(store):
        started = time.monotonic()
        problem = await store.commits.check(store.probe_commit)
        waited = time.monotonic() - started
        assert problem is not None and "not committed within" in problem
        assert health.PROBE_DEADLINE <= waited < health.PROBE_DEADLINE + 1
    # The held-up probe commits now; a check finds it (or a new one) through.
    assert await poll(store, lambda p: p is None) is None


async def test_an_ingest_held_up_past_its_commit_timeout_is_refused_and_its_retry_is_a_duplicate(
    store: Store,
) -> None:
    await store.sync_file_endpoints("acme", [endpoint("hook")])
    ingestor = Ingestor(store, ManualClock(), commit_timeout=0.3)
    ingestor.start()
    try:
        update = event("SLOW1")
        async with writes_held_up(store):
            with pytest.raises(StoreUnavailable, match="not acknowledged"):
                await ingestor.ingest("acme", [update])
            assert store.commits.failing  # and /readyz says so at once
        # Held up, not lost: it committed when the hold ended, so the sender's retry is a
        # duplicate of it, acknowledged as such.
        again = await ingestor.ingest("acme", [update])
        assert (again.accepted, again.duplicates) == (0, 1)
        assert not store.commits.failing
    finally:
        await ingestor.stop()


async def test_a_read_only_database_is_not_ready_until_it_takes_writes_again(store: Store, backend: str) -> None:
    if backend != "postgres":
        pytest.skip("a read-only SQLite file takes a read-only mount: tests/integration/test_storage_faults.py")
    assert isinstance(store, PostgresStore)
    name = store.dsn.rsplit("/", 1)[1]
    admin = await asyncpg.connect(dsn("postgres"))
    try:
        await set_read_only(admin, name, True)
        problem = await poll(store, lambda p: p is not None and "read-only" in p)
        assert problem is not None and "ReadOnlySQLTransaction" in problem
        [outcome] = await store.ingest([job(event("RO1"))])
        assert isinstance(outcome, Exception) and store.commits.failing  # an ingest fails, not ready
        await set_read_only(admin, name, False)
        assert await poll(store, lambda p: p is None) is None
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        await admin.close()


async def set_read_only(admin: asyncpg.Connection[object], name: str, on: bool) -> None:
    """New sessions of ``name`` are read-only (or not), and the store's current ones end."""
    await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {"on" if on else "off"}')
    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        name,
    )


async def poll(store: Store, done: Callable[[str | None], bool]) -> str | None:
    """``check()`` until ``done`` says so: a probe's outcome is reused for a moment, and a
    PostgreSQL pool reconnects after its sessions ended."""
    last: list[str | None] = []

    async def settled() -> bool:
        last[:] = [await store.commits.check(store.probe_commit)]
        return done(last[0])

    await wait_until(settled, timeout=10, interval=0.05, what=lambda: f"the probe's outcome to settle (last: {last})")
    return last[0]
