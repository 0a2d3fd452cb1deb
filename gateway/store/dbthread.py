"""A SQLite connection owned by one thread; each call runs a whole function there.

Running a whole transaction as one function on the connection's thread costs one thread
hop per transaction instead of one per statement (docs/decisions/0002-one-hop-per-transaction.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class WriterConnection(sqlite3.Connection):
    """A connection that takes the file's writer lock around each write transaction.

    Several gateway processes (``server.workers``) write one SQLite file. Left to SQLite,
    a writer that finds the file locked sleeps in its busy handler (1, 2, 5, 10 ms, ...);
    a blocking ``flock`` hands the file over the moment the holder lets go
    (docs/decisions/0005-writer-lock-file.md). Within one process it is never contended.
    """

    writer_lock: int | None = None


def writer_lock_path(path: Path) -> Path:
    return path.with_name(path.name + "-writer.lock")


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, factory=WriterConnection, timeout=10.0
        )
        assert isinstance(conn, WriterConnection)
        conn.writer_lock = os.open(writer_lock_path(path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        # Turning a new file to WAL needs it to itself: a second worker starting at the same
        # moment got "database is locked" at once, busy timeout or not. The lock queues them.
        fcntl.flock(conn.writer_lock, fcntl.LOCK_EX)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            fcntl.flock(conn.writer_lock, fcntl.LOCK_UN)
    # FULL: an acknowledged event survives a power cut, not only a process crash (SPEC §10).
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA temp_store=MEMORY")
    # 256 MiB of page cache: a large outbox's indexes are touched all over on every claim
    # and completion; re-reading their pages through the OS costs CPU on the writer.
    conn.execute("PRAGMA cache_size=-262144")
    return conn


class DbThread:
    def __init__(
        self,
        path: Path,
        *,
        readonly: bool = False,
        name: str = "sqlite",
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        """``on_error``: told of every exception a call raises (then raised as usual)."""
        self._path = path
        self._readonly = readonly
        self._on_error = on_error
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._conn = await self._submit(connect, self._path, readonly=self._readonly)

    async def _submit(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def run(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        conn = self._conn
        if conn is None:
            raise RuntimeError("database thread is not open")
        try:
            return await self._submit(fn, conn)
        except Exception as exc:
            if self._on_error is not None:
                self._on_error(exc)
            raise

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._submit(close, conn)
        self._executor.shutdown(wait=True)


def close(conn: sqlite3.Connection) -> None:
    conn.close()
    lock = getattr(conn, "writer_lock", None)
    if lock is not None:
        os.close(lock)


@contextlib.contextmanager
def immediate(conn: sqlite3.Connection, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
    """A write transaction, taken at once: a deferred one that turns into a write gets
    SQLITE_BUSY without waiting for busy_timeout. Committed on success, else rolled back.

    ``durable=False`` commits without an fsync (WAL with ``synchronous=NORMAL``): the
    transaction survives a process crash but may be lost with the machine's power. Only for
    writes whose loss re-sends a delivery (claims, completions, lease releases), never for
    anything acknowledged; the next durable commit makes it durable too.

    Other gateway processes on the same file queue on its writer lock (``WriterConnection``).
    """
    lock: int | None = getattr(conn, "writer_lock", None)
    if lock is not None:
        fcntl.flock(lock, fcntl.LOCK_EX)  # releases the GIL while it waits
    try:
        with _transaction(conn, durable=durable):
            yield conn
    finally:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection, *, durable: bool) -> Iterator[sqlite3.Connection]:
    if not durable:
        conn.execute("PRAGMA synchronous=NORMAL")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        if not durable:
            conn.execute("PRAGMA synchronous=FULL")


#: SQLite result codes (``sqlite_errorname`` prefixes) that mean the store cannot write,
#: whatever the data: as opposed to one job's bad value or a constraint.
_SQLITE_FAULTS = (
    "SQLITE_FULL",
    "SQLITE_IOERR",
    "SQLITE_READONLY",
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_CORRUPT",
    "SQLITE_NOTADB",
    "SQLITE_PROTOCOL",
    "SQLITE_PERM",
    "SQLITE_NOLFS",
    "SQLITE_NOMEM",
)


def sqlite_fault(exc: BaseException) -> bool:
    """Whether ``exc`` says the SQLite store cannot commit, rather than that a job is bad."""
    if isinstance(exc, sqlite3.Error):
        return str(getattr(exc, "sqlite_errorname", "")).startswith(_SQLITE_FAULTS)
    return isinstance(exc, (OSError, TimeoutError, MemoryError))
