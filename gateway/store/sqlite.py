"""The embedded default store: SQLite in WAL mode with ``synchronous=FULL``.

The hot writes (ingest, claims, completions, lease releases) go to the writer process
(``WriterProcess``; ``store.writer_process``, on by default in the settings) or, with
``writer_process=False``, to this process's writer thread. Every other write (admin, endpoint
sync, labels, returns, retention, migrations) takes that thread; the file's writer lock
orders the two writers. A connection on its own thread serves reads, which WAL lets run
beside the writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from gateway.routing import EndpointConfig
from gateway.store import migrations, sqlite_admin, sqlite_retention, sqlite_returns
from gateway.store.admin_types import (
    AttemptStats,
    EndpointBacklog,
    EndpointWrite,
    NotificationQuery,
    NotificationRecord,
)
from gateway.store.base import (
    ClaimedDelivery,
    Completion,
    CompletionOutcome,
    DeliveryView,
    EndpointRecord,
    HistoryEntry,
    IngestJob,
    IngestOutcome,
    LegView,
    ReturnRecord,
)
from gateway.store.dbthread import DbThread, immediate, sqlite_fault
from gateway.store.health import CommitHealth
from gateway.store.sqlite_dispatch import (
    claim_transaction,
    complete_transaction,
    endpoint_records,
    list_deliveries,
    recover_transaction,
    release_transaction,
    retry_transaction,
    set_disabled_transaction,
)
from gateway.store.sqlite_ingest import EndpointCache, ingest_transaction
from gateway.store.sqlite_meta import probe_transaction, rebase_transaction
from gateway.store.writer_process import WriterProcess


def sqlite_path(url: str) -> Path:
    """``sqlite:///rel/path`` is relative to the working directory, ``sqlite:////abs`` absolute."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a sqlite URL: {url!r}")
    return Path(url[len("sqlite:///") :])


def _statements(script: str) -> list[str]:
    """Split a migration into statements; a trigger body's inner ``;`` does not end one."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(ln.strip().startswith("--") or not ln.strip() for ln in buffer.splitlines()):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {buffer.strip()[:60]!r}")
    return statements


def _apply_migrations(conn: sqlite3.Connection) -> list[int]:
    with immediate(conn):  # under the writer lock: workers starting together migrate one by one
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL)")
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        applied = []
        for migration in migrations.load("sqlite"):
            if migration.version in done:
                continue
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                (migration.version, time.time()),
            )
            applied.append(migration.version)
    return applied


class SqliteStore:
    def __init__(self, path: Path, *, writer_process: bool = False) -> None:
        """``writer_process``: ingest, claims and completions from a child process
        (``WriterProcess``), not from this process's writer thread."""
        self.path = path
        #: What the commits say about whether the store can commit (``/readyz``).
        self.commits = CommitHealth()
        self._child = WriterProcess(path, health=self.commits) if writer_process else None
        self._writer = DbThread(path, name="sqlite-writer", on_error=self._write_failed)
        self._reader = DbThread(path, readonly=True, name="sqlite-reader")
        self._endpoints = EndpointCache()
        self._open = False

    @property
    def ingest_queue(self) -> WriterProcess | None:
        """Set when a child process groups the commits: the Ingestor hands it each job at once."""
        return self._child

    @classmethod
    def from_url(cls, url: str, *, writer_process: bool = False) -> SqliteStore:
        return cls(sqlite_path(url), writer_process=writer_process)

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await self._writer.open()
        await self._writer.run(_apply_migrations)
        await self._reader.open()
        if self._child is not None:
            await self._child.start()
        self._open = True

    async def close(self) -> None:
        if self._open:
            self._open = False
            await self.commits.close()
            if self._child is not None:
                await self._child.close()
            await self._reader.close()
            await self._writer.close()

    async def migrate(self) -> list[int]:
        return await self._writer.run(_apply_migrations)

    async def ping(self) -> None:
        await self._reader.run(lambda conn: conn.execute("SELECT 1").fetchone())

    async def probe_commit(self) -> None:
        await self._writer.run(probe_transaction)

    def _write_failed(self, exc: BaseException) -> None:
        if sqlite_fault(exc):
            self.commits.failed(exc)

    async def listen(self, wake: Callable[[], None]) -> None:
        """Nothing to do: only this process writes the file, and it wakes its own dispatcher."""

    async def ingest(self, jobs: Sequence[IngestJob]) -> list[IngestOutcome]:
        if self._child is not None:
            return list(await asyncio.gather(*(self._child.enqueue(job) for job in jobs)))
        cache = self._endpoints
        outcomes = await self._writer.run(lambda conn: ingest_transaction(conn, jobs, cache))
        if any(not isinstance(o, BaseException) for o in outcomes):
            self.commits.ok()
        else:
            for failure in outcomes:
                if isinstance(failure, BaseException):
                    self._write_failed(failure)
        return outcomes

    async def sync_file_endpoints(self, org: str, endpoints: Sequence[EndpointConfig]) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            with immediate(conn):
                existing = {
                    name: (owner, config, deleted)
                    for name, owner, config, deleted in conn.execute(
                        "SELECT name, owner, config, deleted FROM endpoints WHERE org = ?", (org,)
                    )
                }
                wanted = {e.name: e.model_dump_json() for e in endpoints}
                for name, config in wanted.items():
                    if name not in existing:
                        conn.execute(
                            "INSERT INTO endpoints (org, name, owner, config) VALUES (?, ?, 'file', ?)",
                            (org, name, config),
                        )
                    elif existing[name][1] != config or existing[name][0] != "file" or existing[name][2]:
                        conn.execute(
                            "UPDATE endpoints SET owner = 'file', config = ?, version = version + 1, "
                            "deleted = 0 WHERE org = ? AND name = ?",
                            (config, org, name),
                        )
                for name, (owner, _config, deleted) in existing.items():
                    if owner == "file" and name not in wanted and not deleted:
                        conn.execute(
                            "UPDATE endpoints SET deleted = 1, version = version + 1 WHERE org = ? AND name = ?",
                            (org, name),
                        )

        await self._writer.run(tx)

    async def shipment(self, org: str, awb: str) -> list[LegView]:
        def read(conn: sqlite3.Connection) -> list[LegView]:
            leg_ids = [
                row[0]
                for row in conn.execute(
                    "SELECT leg_id FROM leg_keys WHERE org = ? AND key IN (?, ?, ?) "
                    "UNION SELECT id FROM legs WHERE org = ? AND forward_awb = ? ORDER BY 1",
                    # rid: a return known only by its return order code (SPEC §6).
                    (org, f"awb:{awb}", f"fwd:{awb}", f"rid:{awb}", org, awb),
                )
            ]
            legs = []
            for leg_id in leg_ids:
                stype, leg_awb, fwd, rid, current, status_time = conn.execute(
                    "SELECT shipment_type, awb, forward_awb, return_order_id, current_status, status_time "
                    "FROM legs WHERE id = ?",
                    (leg_id,),
                ).fetchone()
                history = tuple(
                    HistoryEntry(
                        event_id=row[0],
                        notification_type=row[1],
                        raw_status=row[2],
                        status_time=row[3],
                        received_at=row[4],
                        source=row[5],
                        stale=bool(row[6]),
                    )
                    for row in conn.execute(
                        "SELECT event_id, notification_type, raw_status, status_time, received_at, source, "
                        "stale FROM notifications WHERE leg_id = ? ORDER BY seq",
                        (leg_id,),
                    )
                )
                legs.append(LegView(leg_id, stype, leg_awb, fwd, rid, current, status_time, history))
            return legs

        return await self._reader.run(read)

    async def endpoints(self) -> list[EndpointRecord]:
        return await self._reader.run(endpoint_records)

    async def claim(self, now: float, free: dict[tuple[str, str], int], lease: float) -> list[ClaimedDelivery]:
        if self._child is not None:
            return await self._child.claim(now, free, lease)
        return await self._writer.run(lambda conn: claim_transaction(conn, now, free, lease))

    async def rebase_schedule(self, now: float) -> float:
        return await self._writer.run(lambda conn: rebase_transaction(conn, now))

    async def complete(self, completions: Sequence[Completion], now: float) -> list[CompletionOutcome]:
        if self._child is not None:
            return await self._child.complete(completions, now)
        return await self._writer.run(lambda conn: complete_transaction(conn, completions, now))

    async def release(self, leases: Sequence[tuple[int, str]]) -> None:
        if not leases:
            return
        if self._child is not None:
            await self._child.release(leases)
            return
        await self._writer.run(lambda conn: release_transaction(conn, leases))

    async def set_disabled(self, org: str, endpoint: str, disabled: bool, reason: str | None, now: float) -> bool:
        return await self._writer.run(lambda conn: set_disabled_transaction(conn, org, endpoint, disabled, reason, now))

    async def deliveries(
        self, *, org: str | None, endpoint: str | None, state: str | None, after_id: int, limit: int
    ) -> list[DeliveryView]:
        return await self._reader.run(lambda conn: list_deliveries(conn, org, endpoint, state, after_id, limit))

    async def retry_delivery(self, delivery_id: int, now: float) -> DeliveryView | None:
        return await self._writer.run(lambda conn: retry_transaction(conn, delivery_id, now))

    async def recover(self, org: str, endpoint: str, since: float, until: float, now: float) -> int:
        return await self._writer.run(lambda conn: recover_transaction(conn, org, endpoint, since, until, now))

    # --- admin (gateway/store/sqlite_admin.py) ---------------------------------------

    async def notifications(self, query: NotificationQuery) -> list[NotificationRecord]:
        return await self._reader.run(lambda conn: sqlite_admin.search_notifications(conn, query))

    async def notification(self, event_id: str) -> NotificationRecord | None:
        return await self._reader.run(lambda conn: sqlite_admin.notification_detail(conn, event_id))

    async def backlog(self) -> list[EndpointBacklog]:
        return await self._reader.run(sqlite_admin.backlog)

    async def attempt_stats(self, since: float) -> list[AttemptStats]:
        return await self._reader.run(lambda conn: sqlite_admin.attempt_stats(conn, since))

    async def put_endpoint(self, org: str, config: EndpointConfig) -> EndpointWrite:
        return await self._writer.run(lambda conn: sqlite_admin.put_endpoint_transaction(conn, org, config))

    async def delete_endpoint(self, org: str, name: str, now: float) -> tuple[EndpointWrite, int]:
        return await self._writer.run(lambda conn: sqlite_admin.delete_endpoint_transaction(conn, org, name, now))

    async def label(self, org: str, kind: str, order_number: str, shipment_code: str) -> dict[str, Any] | None:
        row = await self._reader.run(
            lambda conn: conn.execute(
                "SELECT result FROM labels WHERE org = ? AND kind = ? AND order_number = ? AND shipment_code = ?",
                (org, kind, order_number, shipment_code),
            ).fetchone()
        )
        return None if row is None else dict(orjson.loads(row[0]))

    async def label_by_order_id(self, org: str, kind: str, order_id: str) -> dict[str, Any] | None:
        row = await self._reader.run(
            lambda conn: conn.execute(
                "SELECT result FROM labels WHERE org = ? AND kind = ? AND order_id = ? ORDER BY created_at LIMIT 1",
                (org, kind, order_id),
            ).fetchone()
        )
        return None if row is None else dict(orjson.loads(row[0]))

    async def save_label(
        self,
        org: str,
        kind: str,
        order_number: str,
        shipment_code: str,
        order_id: str | None,
        result: dict[str, Any],
        now: float,
    ) -> tuple[dict[str, Any], bool]:
        def tx(conn: sqlite3.Connection) -> tuple[dict[str, Any], bool]:
            with immediate(conn):
                cur = conn.execute(
                    "INSERT OR IGNORE INTO labels (org, kind, order_number, shipment_code, order_id, result, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (org, kind, order_number, shipment_code, order_id, orjson.dumps(result).decode(), now),
                )
                stored = conn.execute(
                    "SELECT result FROM labels WHERE org = ? AND kind = ? AND order_number = ? AND shipment_code = ?",
                    (org, kind, order_number, shipment_code),
                ).fetchone()
            return dict(orjson.loads(stored[0])), cur.rowcount > 0

        return await self._writer.run(tx)

    async def claim_label(
        self, org: str, kind: str, order_number: str, shipment_code: str, token: str, now: float, until: float
    ) -> bool:
        def tx(conn: sqlite3.Connection) -> bool:
            with immediate(conn, durable=False):  # lost with the power: the claim just ends early
                conn.execute(
                    "INSERT INTO label_claims (org, kind, order_number, shipment_code, token, until) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (org, kind, order_number, shipment_code) DO UPDATE "
                    "SET token = excluded.token, "
                    "until = excluded.until WHERE label_claims.until <= ?",
                    (org, kind, order_number, shipment_code, token, until, now),
                )
                holder = conn.execute(
                    "SELECT token FROM label_claims WHERE org = ? AND kind = ? AND order_number = ? "
                    "AND shipment_code = ?",
                    (org, kind, order_number, shipment_code),
                ).fetchone()
            return bool(holder is not None and holder[0] == token)

        return await self._writer.run(tx)

    async def release_label_claim(self, org: str, kind: str, order_number: str, shipment_code: str, token: str) -> None:
        def tx(conn: sqlite3.Connection) -> None:
            with immediate(conn, durable=False):
                conn.execute(
                    "DELETE FROM label_claims WHERE org = ? AND kind = ? AND order_number = ? AND shipment_code = ? "
                    "AND token = ?",
                    (org, kind, order_number, shipment_code, token),
                )

        await self._writer.run(tx)

    async def save_return(self, record: ReturnRecord) -> tuple[ReturnRecord, bool]:
        return await self._writer.run(lambda conn: sqlite_returns.save_return(conn, record))

    async def get_return(self, org: str, return_order_code: str) -> ReturnRecord | None:
        return await self._reader.run(lambda conn: sqlite_returns.get_return(conn, org, return_order_code))

    async def returns_for_legs(self, org: str, leg_ids: Sequence[int]) -> list[ReturnRecord]:
        return await self._reader.run(lambda conn: sqlite_returns.returns_for_legs(conn, org, leg_ids))

    async def add_processing_update(
        self,
        org: str,
        return_order_code: str,
        returns_system: str,
        qc_status: str,
        body: bytes,
        webhook_id: str,
        now: float,
    ) -> int:
        return await self._writer.run(
            lambda conn: sqlite_returns.add_processing_update(
                conn, org, return_order_code, returns_system, qc_status, body, webhook_id, now
            )
        )

    async def prune(self, before: float, limit: int) -> int:
        return await self._writer.run(lambda conn: sqlite_retention.prune(conn, before, limit))
