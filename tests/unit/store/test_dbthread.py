"""``immediate``: the transaction helper every SQLite write goes through."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from gateway.store.dbthread import close, connect, immediate, writer_lock_path

FULL, NORMAL = 2, 1


def _sync(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA synchronous").fetchone()[0])


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    c = connect(tmp_path / "t.db")
    c.execute("CREATE TABLE t (v INTEGER)")
    return c


def test_a_relaxed_transaction_commits_without_fsync_then_restores_full(conn: sqlite3.Connection) -> None:
    assert _sync(conn) == FULL
    with immediate(conn, durable=False):
        assert _sync(conn) == NORMAL
        conn.execute("INSERT INTO t VALUES (1)")
    assert _sync(conn) == FULL
    assert conn.execute("SELECT v FROM t").fetchall() == [(1,)]


def test_a_failed_relaxed_transaction_rolls_back_and_still_restores_full(conn: sqlite3.Connection) -> None:
    with pytest.raises(RuntimeError), immediate(conn, durable=False):
        conn.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("boom")
    assert _sync(conn) == FULL
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0


def test_a_durable_transaction_stays_full(conn: sqlite3.Connection) -> None:
    with immediate(conn):
        assert _sync(conn) == FULL
        conn.execute("INSERT INTO t VALUES (2)")
    assert conn.execute("SELECT v FROM t").fetchall() == [(2,)]


def _lock_is_free(db: Path) -> bool:
    """Whether another open file description (as another process holds) can take the lock now."""
    fd = os.open(writer_lock_path(db), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def test_a_write_transaction_holds_the_writer_lock_until_it_ends(tmp_path: Path, conn: sqlite3.Connection) -> None:
    db = tmp_path / "t.db"
    assert _lock_is_free(db)
    with immediate(conn):
        assert not _lock_is_free(db)
        conn.execute("INSERT INTO t VALUES (1)")
    assert _lock_is_free(db)
    with pytest.raises(RuntimeError), immediate(conn, durable=False):
        assert not _lock_is_free(db)
        raise RuntimeError("boom")
    assert _lock_is_free(db)


def test_a_second_writer_queues_on_the_lock_and_commits_second(tmp_path: Path, conn: sqlite3.Connection) -> None:
    other = connect(tmp_path / "t.db")
    done = threading.Event()

    def write() -> None:
        with immediate(other):
            other.execute("INSERT INTO t VALUES (2)")
        done.set()

    with immediate(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        writer = threading.Thread(target=write)
        writer.start()
        assert not done.is_set()  # it cannot have committed while this transaction is open
    writer.join(timeout=10)
    assert done.is_set()
    assert [v for (v,) in conn.execute("SELECT v FROM t ORDER BY rowid")] == [1, 2]
    close(other)


def test_a_read_only_connection_has_no_writer_lock(tmp_path: Path, conn: sqlite3.Connection) -> None:
    reader = connect(tmp_path / "t.db", readonly=True)
    assert getattr(reader, "writer_lock", None) is None
    close(reader)


def _open_together(path: Path, barrier: threading.Barrier, modes: list[str], errors: list[BaseException]) -> None:
    barrier.wait()
    try:
        conn = connect(path)
        modes.append(conn.execute("PRAGMA journal_mode").fetchone()[0])
        close(conn)
    except BaseException as exc:  # collected: a thread's exception would be lost
        errors.append(exc)


def test_two_writers_opening_a_new_file_at_once_both_get_wal(tmp_path: Path) -> None:
    # Workers starting together: turning a new file to WAL once answered "database is locked".
    for attempt in range(30):
        barrier = threading.Barrier(2)
        modes: list[str] = []
        errors: list[BaseException] = []
        args = (tmp_path / f"new{attempt}.db", barrier, modes, errors)
        threads = [threading.Thread(target=_open_together, args=args) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert errors == []
        assert modes == ["wal", "wal"]
