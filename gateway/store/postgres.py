"""The shared store: PostgreSQL through an asyncpg pool, for several gateway processes (SPEC §10).

Same interface and rules as ``SqliteStore``; what differs is that other processes write at
the same time. Ingest locks leg keys (``postgres_ingest``), claims skip rows another
dispatcher holds (``postgres_dispatch``), migrations run under an advisory lock so that
processes starting together apply each one once, and time comes from the database
(``self.clock``, a ``DbClock``). New work is announced with ``NOTIFY``; ``listen`` hands the
wake-up to this process's dispatcher, whose 1 s poll stays as the fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg

from gateway.logs import get_logger
from gateway.routing import EndpointConfig
from gateway.store import (
    migrations,
    postgres_admin,
    postgres_dispatch,
    postgres_labels,
    postgres_retention,
    postgres_returns,
)
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
from gateway.store.dbclock import REFRESH_SECONDS, DbClock
from gateway.store.health import CommitHealth
from gateway.store.pgconn import Conn, in_transaction
from gateway.store.postgres_ingest import WAKE_CHANNEL, PgEndpointCache, ingest_batch, lock_key

log = get_logger("gateway.store.postgres")

T = TypeVar("T")

#: The database-side bound on a readiness probe (``CommitHealth`` stops waiting sooner).
PROBE_TIMEOUT = 10.0
#: Backoff between attempts to re-LISTEN after the connection dropped (the first is at once).
RELISTEN_FIRST_DELAY = 0.5
RELISTEN_MAX_DELAY = 10.0


def _nothing() -> None:
    """The wake callback before anyone listens."""


#: Advisory lock id held while migrations run (any constant unlikely to clash).
MIGRATION_LOCK = 0x6761_7465_7761_79  # "gateway"
#: Lock conflicts that only mean "try the transaction again".
_RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
#: Failures of the connection rather than of the data: a batch that hits one fails whole.
_CONNECTION_ERRORS = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError, TimeoutError)
#: SQLSTATE classes (and codes) of a database that cannot write, whatever the data:
#: connection, insufficient resources (disk full), operator intervention (shutting
#: down), system error (I/O), internal error; read-only transaction (a standby).
_FAULT_CLASSES = ("08", "53", "57", "58", "XX")
_FAULT_CODES = ("25006",)


def pg_fault(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot commit, rather than that a job is bad."""
    if isinstance(exc, _CONNECTION_ERRORS):
        return True
    state = getattr(exc, "sqlstate", None)
    return isinstance(state, str) and (state[:2] in _FAULT_CLASSES or state in _FAULT_CODES)


async def _keep_session(conn: object) -> None:
    """The pool's reset between uses. The default one (unlock advisory locks, close
    cursors, UNLISTEN, RESET ALL) costs a round trip per use, and this store leaves none
    of that behind: its advisory locks end with their transactions (the migration lock
    is released in ``finally``), it listens on a connection of its own and sets no
    session state. asyncpg still rolls back a transaction left open."""


async def apply_migrations(conn: Conn) -> list[int]:
    """Apply pending migrations, each in its own transaction, under one advisory lock."""
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION)"
        )
        done = {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        applied = []
        for migration in migrations.load("postgres"):
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, applied_at) "
                    "VALUES ($1, extract(epoch FROM clock_timestamp()))",
                    migration.version,
                )
            applied.append(migration.version)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)


class PostgresStore:
    #: The longest the ingest writer waits for more jobs while under load (Ingestor reads
    #: it; the wait ends sooner once the previous batch's count is queued): fewer, larger
    #: transactions (docs/decisions/0010-postgres-ingest-linger.md).
    ingest_linger = 0.002

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self.clock = DbClock()
        #: What the commits say about whether the database can commit (``/readyz``).
        self.commits = CommitHealth()
        self._min_size, self._max_size = min_size, max_size
        self._pool: asyncpg.Pool[Any] | None = None
        self._listener: asyncpg.Connection[Any] | None = None
        self._wake: Callable[[], None] = _nothing
        self._relisten_task: asyncio.Task[None] | None = None
        self._clock_task: asyncio.Task[None] | None = None
        self._endpoints = PgEndpointCache()

    @classmethod
    def from_url(cls, url: str) -> PostgresStore:
        return cls(url)

    @property
    def pool(self) -> asyncpg.Pool[Any]:
        if self._pool is None:
            raise RuntimeError("the PostgreSQL store is not open")
        return self._pool

    async def open(self) -> None:
        # JIT compiles the claim's plan on every call for no gain at this size.
        self._pool = await asyncpg.create_pool(
            self.dsn,
            min_size=self._min_size,
            max_size=self._max_size,
            server_settings={"application_name": "rms-gateway", "jit": "off"},
            reset=_keep_session,
        )
        async with self.pool.acquire() as conn:
            await apply_migrations(conn)
            await self.clock.sync(conn)
        self._clock_task = asyncio.create_task(self._refresh_clock(), name="db-clock")

    async def close(self) -> None:
        await self.commits.close()
        if self._clock_task is not None:
            self._clock_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock_task
            self._clock_task = None
        pool, self._pool = self._pool, None  # first: a listener closing now is not "lost"
        if self._relisten_task is not None:
            self._relisten_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relisten_task
            self._relisten_task = None
        if self._listener is not None:
            listener, self._listener = self._listener, None
            await listener.close()
        if pool is not None:
            await pool.close()

    async def _refresh_clock(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                async with self.pool.acquire() as conn:
                    await self.clock.sync(conn)
            except Exception as exc:  # keep the last offset; the next refresh tries again
                log.warning("store.clock_sync_failed", error=repr(exc))

    async def migrate(self) -> list[int]:
        async with self.pool.acquire() as conn:
            return await apply_migrations(conn)

    async def ping(self) -> None:
        await self.pool.fetchval("SELECT 1")

    async def probe_commit(self) -> None:
        """One durable write in one round trip (a read, or ``SELECT 1``, passes on a full
        disk or a read-only standby)."""
        await self.pool.execute(
            "INSERT INTO store_meta (key, value) VALUES ('probe', extract(epoch FROM clock_timestamp())) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            timeout=PROBE_TIMEOUT,
        )

    async def listen(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` whenever any process announces new work.

        A dropped LISTEN connection (server restart, idle-connection reaper, network blip)
        is reconnected in the background; until then the dispatcher's poll covers, and the
        first wake after reconnecting catches up on what was announced meanwhile.
        """
        self._wake = wake
        if self._listener is None:
            await self._connect_listener()

    async def _connect_listener(self) -> None:
        listener = await asyncpg.connect(self.dsn, server_settings={"application_name": "rms-gateway"})
        await listener.add_listener(WAKE_CHANNEL, lambda *_: self._wake())
        listener.add_termination_listener(self._listener_lost)
        self._listener = listener

    def _listener_lost(self, conn: object) -> None:
        if self._listener is not conn or self._pool is None:
            return  # closed on purpose
        self._listener = None
        log.warning("store.listen_lost", retry="in the background; polling meanwhile")
        if self._relisten_task is None or self._relisten_task.done():
            self._relisten_task = asyncio.get_running_loop().create_task(self._relisten(), name="db-relisten")

    async def _relisten(self) -> None:
        delay = 0.0
        while self._pool is not None and self._listener is None:
            await asyncio.sleep(delay)
            try:
                await self._connect_listener()
            except (OSError, asyncpg.PostgresError) as exc:
                delay = min(max(delay * 2, RELISTEN_FIRST_DELAY), RELISTEN_MAX_DELAY)
                log.warning("store.listen_retry", error=repr(exc), retry_in_s=delay)
            else:
                log.info("store.listen_restored")
                self._wake()  # announcements made while deaf were lost: look now

    async def _tx(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        """Run ``fn`` in a transaction, again (up to 3 times) when it lost a lock conflict."""
        try:
            async with self.pool.acquire() as conn:
                for attempt in range(3):
                    try:
                        return await in_transaction(conn, fn)
                    except _RETRYABLE:
                        if attempt == 2:
                            raise
                raise AssertionError("unreachable")
        except Exception as exc:
            if pg_fault(exc):
                self.commits.failed(exc)
            raise

    # --- ingest ------------------------------------------------------------------------

    async def ingest(self, jobs: Sequence[IngestJob]) -> list[IngestOutcome]:
        cache = self._endpoints
        try:
            stored = await self._tx(lambda conn: ingest_batch(conn, jobs, cache))
        except _CONNECTION_ERRORS:
            raise
        except Exception as exc:
            if len(jobs) == 1:
                return [exc]
        else:
            self.commits.ok()
            return stored
        # One bad job must not fail its batch-mates: store each on its own.
        outcomes: list[IngestOutcome] = []
        for job in jobs:
            try:
                outcomes.extend(await self._tx(lambda conn, job=job: ingest_batch(conn, [job], cache)))  # type: ignore[misc]  # mypy cannot type a lambda's default
            except _CONNECTION_ERRORS:
                raise
            except Exception as exc:
                outcomes.append(exc)
        if any(not isinstance(o, BaseException) for o in outcomes):
            self.commits.ok()
        return outcomes

    async def sync_file_endpoints(self, org: str, endpoints: Sequence[EndpointConfig]) -> None:
        async def tx(conn: Conn) -> None:
            # Processes starting together all sync the same files: one at a time per org.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_key(org, "endpoints", ""))
            existing = {
                r[0]: (r[1], r[2], r[3])
                for r in await conn.fetch("SELECT name, owner, config, deleted FROM endpoints WHERE org = $1", org)
            }
            wanted = {e.name: e.model_dump_json() for e in endpoints}
            for name, config in wanted.items():
                if name not in existing:
                    await conn.execute(
                        "INSERT INTO endpoints (org, name, owner, config) VALUES ($1, $2, 'file', $3)",
                        org,
                        name,
                        config,
                    )
                elif existing[name][1] != config or existing[name][0] != "file" or existing[name][2]:
                    await conn.execute(
                        "UPDATE endpoints SET owner = 'file', config = $1, version = version + 1, deleted = false "
                        "WHERE org = $2 AND name = $3",
                        config,
                        org,
                        name,
                    )
            for name, (owner, _config, deleted) in existing.items():
                if owner == "file" and name not in wanted and not deleted:
                    await conn.execute(
                        "UPDATE endpoints SET deleted = true, version = version + 1 WHERE org = $1 AND name = $2",
                        org,
                        name,
                    )

        await self._tx(tx)

    async def shipment(self, org: str, awb: str) -> list[LegView]:
        async with self.pool.acquire() as conn:
            legs = await conn.fetch(
                "SELECT id, shipment_type, awb, forward_awb, return_order_id, current_status, status_time FROM legs "
                "WHERE id IN (SELECT leg_id FROM leg_keys WHERE org = $1 AND key IN ($2, $3, $4) "
                "             UNION SELECT id FROM legs WHERE org = $1 AND forward_awb = $5) ORDER BY id",
                org,
                f"awb:{awb}",
                f"fwd:{awb}",
                f"rid:{awb}",  # a return known only by its return order code (SPEC §6)
                awb,
            )
            history = await conn.fetch(
                "SELECT leg_id, event_id, notification_type, raw_status, status_time, received_at, source, stale "
                "FROM notifications WHERE leg_id = ANY($1::bigint[]) ORDER BY seq",
                [row[0] for row in legs],
            )
        by_leg: dict[int, list[HistoryEntry]] = {}
        for h in history:
            by_leg.setdefault(h[0], []).append(HistoryEntry(h[1], h[2], h[3], h[4], h[5], h[6], h[7]))
        return [LegView(r[0], r[1], r[2], r[3], r[4], r[5], r[6], tuple(by_leg.get(r[0], ()))) for r in legs]

    # --- delivery ----------------------------------------------------------------------

    async def endpoints(self) -> list[EndpointRecord]:
        async with self.pool.acquire() as conn:
            return await postgres_dispatch.endpoint_records(conn)

    async def claim(self, now: float, free: dict[tuple[str, str], int], lease: float) -> list[ClaimedDelivery]:
        return await self._tx(lambda conn: postgres_dispatch.claim(conn, now, free, lease))

    async def rebase_schedule(self, now: float) -> float:
        """Nothing to do: the database's clock does not step with this host's (``DbClock``
        follows it on the local monotonic clock)."""
        return 0.0

    async def complete(self, completions: Sequence[Completion], now: float) -> list[CompletionOutcome]:
        return await self._tx(lambda conn: postgres_dispatch.complete(conn, completions, now))

    async def release(self, leases: Sequence[tuple[int, str]]) -> None:
        if leases:
            await self._tx(lambda conn: postgres_dispatch.release(conn, leases))

    async def set_disabled(self, org: str, endpoint: str, disabled: bool, reason: str | None, now: float) -> bool:
        return await self._tx(lambda conn: postgres_dispatch.set_disabled(conn, org, endpoint, disabled, reason, now))

    async def deliveries(
        self, *, org: str | None, endpoint: str | None, state: str | None, after_id: int, limit: int
    ) -> list[DeliveryView]:
        async with self.pool.acquire() as conn:
            return await postgres_dispatch.list_deliveries(conn, org, endpoint, state, after_id, limit)

    async def retry_delivery(self, delivery_id: int, now: float) -> DeliveryView | None:
        return await self._tx(lambda conn: postgres_dispatch.retry_delivery(conn, delivery_id, now))

    async def recover(self, org: str, endpoint: str, since: float, until: float, now: float) -> int:
        return await self._tx(lambda conn: postgres_dispatch.recover(conn, org, endpoint, since, until, now))

    async def prune(self, before: float, limit: int) -> int:
        return await self._tx(lambda conn: postgres_retention.prune(conn, before, limit))

    # --- admin (postgres_admin) -------------------------------------------------------

    async def notifications(self, query: NotificationQuery) -> list[NotificationRecord]:
        async with self.pool.acquire() as conn:
            return await postgres_admin.search_notifications(conn, query)

    async def notification(self, event_id: str) -> NotificationRecord | None:
        async with self.pool.acquire() as conn:
            return await postgres_admin.notification_detail(conn, event_id)

    async def backlog(self) -> list[EndpointBacklog]:
        async with self.pool.acquire() as conn:
            return await postgres_admin.backlog(conn)

    async def attempt_stats(self, since: float) -> list[AttemptStats]:
        async with self.pool.acquire() as conn:
            return await postgres_admin.attempt_stats(conn, since)

    async def put_endpoint(self, org: str, config: EndpointConfig) -> EndpointWrite:
        return await self._tx(lambda conn: postgres_admin.put_endpoint(conn, org, config))

    async def delete_endpoint(self, org: str, name: str, now: float) -> tuple[EndpointWrite, int]:
        return await self._tx(lambda conn: postgres_admin.delete_endpoint(conn, org, name, now))

    # --- returns (postgres_returns) ----------------------------------------------------

    async def save_return(self, record: ReturnRecord) -> tuple[ReturnRecord, bool]:
        return await self._tx(lambda conn: postgres_returns.save_return(conn, record))

    async def get_return(self, org: str, return_order_code: str) -> ReturnRecord | None:
        async with self.pool.acquire() as conn:
            return await postgres_returns.get_return(conn, org, return_order_code)

    async def returns_for_legs(self, org: str, leg_ids: Sequence[int]) -> list[ReturnRecord]:
        async with self.pool.acquire() as conn:
            return await postgres_returns.returns_for_legs(conn, org, leg_ids)

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
        return await self._tx(
            lambda conn: postgres_returns.add_processing_update(
                conn, org, return_order_code, returns_system, qc_status, body, webhook_id, now
            )
        )

    # --- aggregator proxy (postgres_labels) --------------------------------------------

    async def label(self, org: str, kind: str, order_number: str, shipment_code: str) -> dict[str, Any] | None:
        async with self.pool.acquire() as conn:
            return await postgres_labels.label(conn, org, kind, order_number, shipment_code)

    async def label_by_order_id(self, org: str, kind: str, order_id: str) -> dict[str, Any] | None:
        async with self.pool.acquire() as conn:
            return await postgres_labels.label_by_order_id(conn, org, kind, order_id)

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
        return await self._tx(
            lambda conn: postgres_labels.save_label(conn, org, kind, order_number, shipment_code, order_id, result, now)
        )

    async def claim_label(
        self, org: str, kind: str, order_number: str, shipment_code: str, token: str, now: float, until: float
    ) -> bool:
        async with self.pool.acquire() as conn:
            return await postgres_labels.claim_label(conn, org, kind, order_number, shipment_code, token, now, until)

    async def release_label_claim(self, org: str, kind: str, order_number: str, shipment_code: str, token: str) -> None:
        async with self.pool.acquire() as conn:
            await postgres_labels.release_label_claim(conn, org, kind, order_number, shipment_code, token)
