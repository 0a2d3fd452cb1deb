"""``immediate``: the transaction helper every SQLite write goes through."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway.store.dbthread import connect, immediate

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
