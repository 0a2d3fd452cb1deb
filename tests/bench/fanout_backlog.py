"""Build a backlog of accepted webhooks in a SQLite store, in-process, for the fan-out bench.

Through the store's own ``ingest`` (the transaction the HTTP path commits), in big batches:
every notification is a real one (parsed Shiprocket webhook with a unique AWB, its own leg,
envelope, one pending delivery per matching endpoint), only without the HTTP hop. The
endpoints are synced from the same routes directory the gateway will load, so the gateway's
own sync at start-up finds them unchanged.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen

from gateway.inbound import shiprocket
from gateway.ingest import new_event_id
from gateway.routing import load_routes
from gateway.store.base import IngestJob
from gateway.store.sqlite import SqliteStore

#: Jobs per ingest transaction: large, since nobody waits on an individual acknowledgement.
BATCH = 2000


async def _build(db: Path, routes_dir: Path, org: str, notifications: int, tag: str) -> None:
    routes = load_routes(routes_dir).get(org)
    if routes is None:
        raise ValueError(f"no routes for org {org!r} in {routes_dir}")
    prefix, suffix = loadgen.shiprocket_body_parts()
    store = SqliteStore(db)
    await store.open()
    try:
        await store.sync_file_endpoints(org, routes.endpoints)
        for start in range(0, notifications, BATCH):
            jobs = []
            for i in range(start, min(start + BATCH, notifications)):
                body = orjson.loads(prefix + loadgen.awb(tag, 0, i).encode() + suffix)
                events = shiprocket.parse(body).events
                ids = [new_event_id() for _ in events]
                jobs.append(IngestJob(org=org, events=events, event_ids=ids, received_at=time.time()))
            for outcome in await store.ingest(jobs):
                if isinstance(outcome, BaseException):
                    raise outcome
    finally:
        await store.close()


def build_backlog(db: Path, routes_dir: Path, org: str, notifications: int, tag: str) -> float:
    """Store ``notifications`` accepted webhooks; return the seconds it took (checkpoint included)."""
    started = time.perf_counter()
    asyncio.run(_build(db, routes_dir, org, notifications, tag))
    conn = sqlite3.connect(db)
    try:
        # Leave no WAL behind: the gateway should start on a settled file, not replay a big log.
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - started


def pending_counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())
    finally:
        conn.close()


def sample_envelope(db: Path) -> bytes:
    """One stored envelope: the exact body the gateway delivers, for the raw loop to send."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT envelope FROM notifications ORDER BY seq LIMIT 1").fetchone()
    finally:
        conn.close()
    if row is None:
        raise ValueError(f"{db} has no notification")
    return bytes(row[0])


def accepted_times(db: Path) -> dict[str, float]:
    """event_id → the gateway's acceptance time (``received_at``) of every notification."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT event_id, received_at FROM notifications").fetchall())
    finally:
        conn.close()
