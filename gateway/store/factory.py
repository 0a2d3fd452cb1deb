"""``store.url`` → a store backend (not yet opened)."""

from __future__ import annotations

from gateway.store.base import Store
from gateway.store.sqlite import SqliteStore


def store_from_url(url: str) -> Store:
    if url.startswith("sqlite:///"):
        return SqliteStore.from_url(url)
    if url.startswith(("postgresql://", "postgres://")):
        raise NotImplementedError("the PostgreSQL store is not available yet; use sqlite:///")
    raise ValueError(f"unsupported store url scheme: {url.split(':', 1)[0]!r}")
