"""The hot SQLite writes in a process of their own, beside the event loop's (parent side).

Why: in one process the event loop and the writer thread take turns on one GIL; a child
commits one batch while the loop reads the next (docs/decisions/0003-sqlite-writer-process.md).

What goes there: ingest (group commit), and the dispatcher's claims, completions and lease
releases. Everything else (admin, reads, endpoint sync) stays on the store's threads; the
file's writer lock orders the two writers.

The child answers requests in the order they were sent. If it dies, every request it had
not answered fails (webhooks answer 503, nothing unacknowledged is claimed stored; a lost
completion leaves its lease to run out) and a new child is started after ``restart_delay``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from gateway.logs import get_logger
from gateway.store.base import ClaimedDelivery, Completion, CompletionOutcome, IngestJob, IngestOutcome
from gateway.store.health import CommitHealth
from gateway.store.writer_codec import (
    ChildError,
    decode_claimed,
    decode_completed,
    decode_outcome,
    encode_claim,
    encode_complete,
    encode_job,
    encode_release,
    frames,
    read_reply,
)

T = TypeVar("T")

log = get_logger("gateway.store")


class WriterProcessGone(Exception):
    """The writer process is not running, or ended before answering; nothing it had not
    answered was acknowledged."""


class _Protocol(asyncio.SubprocessProtocol):
    def __init__(self, owner: WriterProcess) -> None:
        self._owner = owner
        self._buffer = bytearray()

    def pipe_data_received(self, fd: int, data: bytes | bytearray) -> None:
        if fd != 1:
            return
        self._buffer += data
        try:
            for body in frames(self._buffer):
                self._owner._answered(body)
        except Exception as exc:  # a garbled answer: no later answer can be trusted either
            self._owner._garbled(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        # Not process_exited: that may come before the last answers were read off the pipe.
        # This comes once the process has exited and every pipe is closed.
        self._owner._exited()


class WriterProcess:
    def __init__(self, path: Path, *, restart_delay: float = 1.0, health: CommitHealth | None = None) -> None:
        self._path = path
        #: Told of every ingest answer: a committed batch, or the store failing.
        self._health = health or CommitHealth()
        #: Seconds before a child that died is replaced (settable: tests use 0).
        self.restart_delay = restart_delay
        self._transport: asyncio.SubprocessTransport | None = None
        self._stdin: asyncio.WriteTransport | None = None
        self._waiting: deque[tuple[asyncio.Future[Any], Callable[[memoryview], Any], bool]] = deque()
        self._closing = False
        self._exit: asyncio.Future[None] | None = None
        self._restart: asyncio.Task[None] | None = None
        self._up = asyncio.Event()
        #: Resolved when the last request sent has been answered (``drain``).
        self._drained: asyncio.Future[None] | None = None

    @property
    def running(self) -> bool:
        return self._stdin is not None

    @property
    def in_flight(self) -> int:
        """Jobs sent and not answered yet."""
        return len(self._waiting)

    @property
    def pid(self) -> int | None:
        return self._transport.get_pid() if self._transport is not None else None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._closing = False
        self._exit = loop.create_future()
        transport, _ = await loop.subprocess_exec(
            lambda: _Protocol(self),
            sys.executable,
            "-m",
            "gateway.store.writer_child",
            str(self._path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,
        )
        # uvloop's pipe transports do not subclass asyncio.WriteTransport.
        stdin = cast(asyncio.WriteTransport, transport.get_pipe_transport(0))
        self._transport, self._stdin = transport, stdin
        self._up.set()

    async def wait_running(self) -> None:
        await self._up.wait()

    def enqueue(self, job: IngestJob) -> asyncio.Future[IngestOutcome]:
        """Send ``job``; the future resolves once the child has committed it. A job the
        child could not store resolves to the exception (``IngestOutcome``)."""
        return self._send(lambda: encode_job(job), decode_outcome, errors_as_value=True)

    async def claim(self, now: float, free: dict[tuple[str, str], int], lease: float) -> list[ClaimedDelivery]:
        return await self._send(lambda: encode_claim(now, free, lease), decode_claimed)

    async def complete(self, completions: Sequence[Completion], now: float) -> list[CompletionOutcome]:
        return await self._send(lambda: encode_complete(completions, now), decode_completed)

    async def release(self, leases: Sequence[tuple[int, str]]) -> None:
        await self._send(lambda: encode_release(leases), lambda _: None)

    def _send(
        self, encode: Callable[[], bytes], decode: Callable[[memoryview], T], *, errors_as_value: bool = False
    ) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        stdin = self._stdin
        if stdin is None or self._closing:
            future.set_exception(WriterProcessGone("the SQLite writer process is not running"))
            return future
        data = encode()
        self._waiting.append((future, decode, errors_as_value))
        stdin.write(data)
        return future

    def _answered(self, body: bytes) -> None:
        if not self._waiting:
            raise ValueError("the writer process answered a request that was not sent")
        future, decode, errors_as_value = self._waiting.popleft()
        if not self._waiting and self._drained is not None:
            _settle(self._drained)
        try:
            result = decode(read_reply(body))
        except ChildError as exc:
            if exc.store_fault:
                self._health.failed(exc)
            if errors_as_value:
                result = exc
            else:
                if not future.done():
                    future.set_exception(exc)
                return
        else:
            if errors_as_value:  # an ingest job's batch committed
                self._health.ok()
        if not future.done():
            future.set_result(result)
        elif errors_as_value and not future.cancelled():
            # The request had answered 503 (commit_timeout): this event is stored after all,
            # unacknowledged; its sender's retry is answered as a duplicate.
            log.warning("store.committed_after_deadline", stored=not isinstance(result, BaseException))

    def _garbled(self, exc: Exception) -> None:
        log.error("writer_process.bad_answer", error=repr(exc))
        if self._transport is not None:
            with contextlib.suppress(ProcessLookupError):
                self._transport.kill()  # _exited fails what is waiting and starts a new one

    def _exited(self) -> None:
        transport, self._transport, self._stdin = self._transport, None, None
        self._up.clear()
        code = transport.get_returncode() if transport is not None else None
        if not self._closing:
            log.error("writer_process.exited", returncode=code, unanswered=len(self._waiting))
        while self._waiting:
            future, _, _ = self._waiting.popleft()
            if not future.done():
                future.set_exception(WriterProcessGone(f"the SQLite writer process exited ({code})"))
        if self._drained is not None:
            _settle(self._drained)
        if transport is not None:
            transport.close()
        if self._exit is not None and not self._exit.done():
            self._exit.set_result(None)
        if not self._closing:
            self._restart = asyncio.get_running_loop().create_task(self._start_again(), name="writer-process-restart")

    async def _start_again(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.restart_delay)  # a child that dies at once is not respawned in a spin
            if self._closing:
                return
            try:
                await self.start()
            except Exception as exc:
                log.error("writer_process.start_failed", error=repr(exc))
            else:
                log.info("writer_process.restarted", pid=self.pid)
                return

    async def drain(self) -> None:
        """Until every request sent so far is answered (or the process is gone). Not by
        waiting on their futures: one failed by a deadline is done before its answer."""
        while self._waiting:
            if self._drained is None or self._drained.done():
                self._drained = asyncio.get_running_loop().create_future()
            await self._drained

    async def close(self) -> None:
        """Let what was sent be answered, then end the process (it exits at end of input)."""
        self._closing = True
        restart, self._restart = self._restart, None
        if restart is not None:
            restart.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await restart
        await self.drain()
        stdin, exit_ = self._stdin, self._exit
        if stdin is None or exit_ is None:
            return
        stdin.close()
        await exit_


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
