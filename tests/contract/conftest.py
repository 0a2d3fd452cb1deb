"""The store contract: every test runs against each backend (``store`` is parametrized).

PostgreSQL tests each get a fresh database cloned from a template that has the migrations
applied once per session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pgsupport import create_database, drop_database, dsn, new_name, require_postgres, run_sync

from gateway.store.base import Store
from gateway.store.postgres import PostgresStore
from gateway.store.sqlite import SqliteStore


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    require_postgres()
    name = new_name("gw_tmpl")
    run_sync(lambda: create_database(name))

    async def migrate() -> None:
        store = PostgresStore(dsn(name))
        await store.open()
        await store.close()

    try:
        run_sync(migrate)
        yield name
    finally:
        run_sync(lambda: drop_database(name))


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """``sqlite-child`` (SQLite, with its writer process) is opted into per
    module with an indirect parametrization: a child costs 0.25 s to start."""
    if request.param in ("sqlite", "sqlite-child"):
        sqlite = SqliteStore(tmp_path / "contract.db", writer_process=request.param == "sqlite-child")
        await sqlite.open()
        try:
            yield sqlite
        finally:
            await sqlite.close()
        return
    template: str = request.getfixturevalue("pg_template")
    name = new_name("gw_test")
    await create_database(name, template)
    postgres = PostgresStore(dsn(name), max_size=4)
    try:
        await postgres.open()
        yield postgres
    finally:
        await postgres.close()
        await drop_database(name)


@pytest.fixture
def backend(store: Store) -> str:
    return "postgres" if isinstance(store, PostgresStore) else "sqlite"
