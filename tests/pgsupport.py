"""PostgreSQL for tests: is a server there, and fresh databases cloned from a template.

The server is the machine's own (127.0.0.1:5432, trust auth, user ``postgres``; ``.ci/run``
starts it). Without one, PostgreSQL tests skip on a developer's machine and fail in CI.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import pytest

HOST, PORT = "127.0.0.1", 5432
ADMIN_DSN = f"postgresql://postgres@{HOST}:{PORT}/postgres"

T = TypeVar("T")


def dsn(database: str) -> str:
    return f"postgresql://postgres@{HOST}:{PORT}/{database}"


def require_postgres() -> None:
    """Skip (developer machine) or fail (``CI`` set) when no server answers."""
    try:
        socket.create_connection((HOST, PORT), timeout=1.0).close()
    except OSError as exc:
        reason = f"no PostgreSQL server on {HOST}:{PORT} ({exc}); start it to run the PostgreSQL tests"
        if os.environ.get("CI"):
            pytest.fail(f"CI: {reason}", pytrace=False)
        pytest.skip(reason)


def run_sync(fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, on a thread with its own loop (a test's
    event loop may already be running on this one)."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(fn()))  # type: ignore[arg-type]
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def new_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


async def create_database(name: str, template: str | None = None) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        clause = f" TEMPLATE {template}" if template else ""
        await conn.execute(f"CREATE DATABASE {name}{clause}")
    finally:
        await conn.close()


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await conn.close()
