"""``store.url`` → a store backend (not yet opened), and the clock that goes with it."""

from __future__ import annotations

from gateway.clock import Clock, steady_clock
from gateway.store.base import Store
from gateway.store.postgres import PostgresStore
from gateway.store.sqlite import SqliteStore


def store_from_url(url: str, *, writer_process: bool = False) -> Store:
    """``writer_process``: SQLite makes its hot writes from a child process (PostgreSQL ignores it:
    its server is already another process)."""
    if url.startswith("sqlite:///"):
        return SqliteStore.from_url(url, writer_process=writer_process)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore.from_url(url)
    raise ValueError(f"unsupported store url scheme: {url.split(':', 1)[0]!r}")


def store_clock(store: Store) -> Clock:
    """The database's clock for a shared store (processes on several machines must agree on
    leases and schedules), the local one for the embedded store: steady, so that a step of
    the host's wall clock neither strands nor rushes what is scheduled (``SteadyClock``)."""
    if isinstance(store, PostgresStore):
        return store.clock
    return steady_clock()
