"""The SQLite writer process: reads requests on stdin, carries them out, answers on stdout.

``python -m gateway.store.writer_child <database>``. Started and owned by ``WriterProcess``.
Every read of stdin takes all the requests that queued while the last transaction
committed. A run of ingest jobs among them is stored in one transaction (group commit);
claims, completions and lease releases each run their own. Answers go out in request order,
each only after its commit, so whatever the parent acknowledges is durable.

It ends when stdin closes: the parent stopped, or died (its end of the pipe closes with
it). Signals meant for the parent's process group are ignored so that a Ctrl-C or a
SIGTERM cannot cut a batch off between its commit and its answer.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from pathlib import Path

from gateway.store.base import IngestJob, IngestOutcome
from gateway.store.dbthread import close, connect
from gateway.store.sqlite_dispatch import claim_transaction, complete_transaction, release_transaction
from gateway.store.sqlite_ingest import EndpointCache, ingest_transaction
from gateway.store.writer_codec import (
    CLAIM,
    COMPLETE,
    INGEST,
    RELEASE,
    decode_claim,
    decode_complete,
    decode_job,
    decode_release,
    encode_claimed,
    encode_completed,
    encode_outcome,
    frames,
    reply,
    reply_error,
)

#: Jobs per transaction at most; keeps one commit's latency bounded (as ``BatchWriter``).
MAX_BATCH = 256
_READ = 1 << 20


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def serve(path: Path, fd_in: int, fd_out: int) -> None:
    conn = connect(path)
    cache = EndpointCache()
    buffer = bytearray()
    pending: list[bytes] = []
    try:
        while True:
            if len(pending) < MAX_BATCH:
                # Wait for input only with nothing left to do; b"" is the end of input.
                chunk = _read_ready(fd_in) if pending else os.read(fd_in, _READ)
                if chunk == b"" and not pending:
                    return
                if chunk:
                    buffer += chunk
                    pending.extend(frames(buffer))
            batch, pending = pending[:MAX_BATCH], pending[MAX_BATCH:]
            if batch:
                _write_all(fd_out, _answer(conn, cache, batch))
    finally:
        close(conn)


def _read_ready(fd: int) -> bytes | None:
    """What stdin holds now, without waiting (``None``: nothing yet)."""
    os.set_blocking(fd, False)
    try:
        return os.read(fd, _READ)
    except BlockingIOError:
        return None
    finally:
        os.set_blocking(fd, True)


def _answer(conn: sqlite3.Connection, cache: EndpointCache, bodies: list[bytes]) -> bytes:
    """Carry out ``bodies`` in order; runs of ingest jobs share one transaction."""
    answers: list[bytes] = []
    run: list[bytes] = []
    for body in bodies:
        kind = body[:1]
        if kind == INGEST:
            run.append(body)
            continue
        if run:
            answers.extend(encode_outcome(o) for o in _ingest(conn, cache, run))
            run = []
        try:
            payload = memoryview(body)[1:]
            if kind == CLAIM:
                answers.append(encode_claimed(claim_transaction(conn, *decode_claim(payload))))
            elif kind == COMPLETE:
                answers.append(encode_completed(complete_transaction(conn, *decode_complete(payload))))
            elif kind == RELEASE:
                release_transaction(conn, decode_release(payload))
                answers.append(reply(b"null"))
            else:
                raise ValueError(f"unknown request kind {kind!r}")
        except Exception as exc:
            answers.append(reply_error(exc))
    if run:
        answers.extend(encode_outcome(o) for o in _ingest(conn, cache, run))
    return b"".join(answers)


def _ingest(conn: sqlite3.Connection, cache: EndpointCache, bodies: list[bytes]) -> list[IngestOutcome]:
    jobs: list[IngestJob] = []
    slots: list[IngestOutcome | None] = []
    for body in bodies:
        try:
            jobs.append(decode_job(memoryview(body)[1:]))
            slots.append(None)
        except Exception as exc:  # a job the codec cannot read fails alone
            slots.append(exc)
    stored: list[IngestOutcome] = []
    if jobs:
        try:
            stored = ingest_transaction(conn, jobs, cache)
        except Exception as exc:  # the commit failed: nothing in the batch is stored
            stored = [exc] * len(jobs)
    results = iter(stored)
    return [slot if slot is not None else next(results) for slot in slots]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m gateway.store.writer_child <database>", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(Path(argv[1]), sys.stdin.fileno(), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
