"""Several gateway processes behind one port: ``server.workers`` (``gateway serve --workers N``).

One process runs its event loop on one core (the GIL); on SQLite its writer process
already uses a second, so workers pay on a machine with cores to spare or on PostgreSQL
(docs/decisions/0006-worker-processes.md). The parent binds the port and forks N workers;
each accepts on its own ``SO_REUSEPORT`` listener (the kernel spreads connections over them),
bound before the fork and kept open by the parent, so the port never closes and a restarted
worker takes over its queue.
They share the store: SQLite queues writers on its lock file, PostgreSQL was built for it.

Deliveries run in worker 0 only, so an endpoint's ``max_in_flight`` and
``rate_per_second`` hold for the whole gateway. The other workers wake it through a pipe
when they accept work. Route reloads and endpoint changes reach every worker: the worker
that made one signals the parent, which signals them all (``SIGHUP`` reloads the routes
files, ``SIGUSR1`` re-reads the store's endpoints). ``kill -HUP`` on the parent does the
same for an operator, and on a gateway of one process it reloads that process.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from gateway.errors import ProblemError
from gateway.logs import get_logger
from gateway.reload import refresh_scrubber, reload_routes
from gateway.state import AppState

log = get_logger("gateway.workers")

#: A worker that dies this many times within ``RESTART_WINDOW`` seconds stops the gateway:
#: it is failing at start-up, and restarting it forever would hide that.
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0
#: Signals the parent passes on to every worker.
FORWARDED = (signal.SIGHUP, signal.SIGUSR1)
_PR_SET_PDEATHSIG = 1


def listeners(host: str, port: int, count: int) -> list[socket.socket]:
    """``count`` listening sockets on one address, the first picking the port if it is 0."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    socks: list[socket.socket] = []
    for _ in range(count):
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address if not socks else (*address[:1], socks[0].getsockname()[1], *address[2:]))
        sock.listen(2048)
        sock.setblocking(False)
        socks.append(sock)
    return socks


@dataclass
class WakePipe:
    """API workers' way to wake the dispatching worker: one byte per loop turn at most."""

    read_fd: int
    write_fd: int
    _pending: bool = False

    @classmethod
    def create(cls) -> WakePipe:
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        return cls(read_fd, write_fd)

    def poke(self) -> None:
        # Coalesced: a burst of webhooks answered in one loop turn writes once.
        if not self._pending:
            self._pending = True
            asyncio.get_running_loop().call_soon(self._write)

    def _write(self) -> None:
        self._pending = False
        with contextlib.suppress(BlockingIOError):  # full: a wake is pending anyway
            os.write(self.write_fd, b"\0")

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self.read_fd, 4096):
                pass


@dataclass
class Siblings:
    """What one worker tells the others (``AppState.siblings``). A gateway of one process
    has none (``alone()``), but it reloads on the same signals."""

    index: int
    pipe: WakePipe | None
    parent: int | None
    #: The worker that runs the dispatcher, if any does.
    dispatching: int | None = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @classmethod
    def alone(cls) -> Siblings:
        return cls(index=0, pipe=None, parent=None, dispatching=None)

    def wake(self) -> None:
        """New deliveries may be due: wake the dispatching worker, unless it is this one."""
        if self.pipe is not None and self.dispatching is not None and self.index != self.dispatching:
            self.pipe.poke()

    def routes_changed(self) -> None:
        self._tell_parent(signal.SIGHUP)

    def endpoints_changed(self) -> None:
        self._tell_parent(signal.SIGUSR1)

    def _tell_parent(self, signum: signal.Signals) -> None:
        if self.parent is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.parent, signum)

    def attach(self, state: AppState) -> None:
        """Listen for the others (in the lifespan, on the running loop)."""
        loop = asyncio.get_running_loop()
        pipe = self.pipe
        if pipe is not None and state.dispatcher_expected:

            def woken() -> None:
                pipe.drain()
                state.dispatcher.wake()

            loop.add_reader(pipe.read_fd, woken)
        loop.add_signal_handler(signal.SIGHUP, self._spawn, self._reload_routes(state))
        loop.add_signal_handler(signal.SIGUSR1, self._spawn, self._reread_endpoints(state))

    def detach(self, state: AppState) -> None:
        loop = asyncio.get_running_loop()
        if self.pipe is not None and state.dispatcher_expected:
            loop.remove_reader(self.pipe.read_fd)
        for signum in FORWARDED:
            loop.remove_signal_handler(signum)

    def _spawn(self, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
        task = asyncio.get_running_loop().create_task(job())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _reload_routes(state: AppState) -> Callable[[], Coroutine[Any, Any, None]]:
        async def job() -> None:
            with contextlib.suppress(ProblemError):  # logged; this worker keeps its routes
                await reload_routes(state, announce=False)

        return job

    @staticmethod
    def _reread_endpoints(state: AppState) -> Callable[[], Coroutine[Any, Any, None]]:
        async def job() -> None:
            await refresh_scrubber(state)
            await state.dispatcher.refresh_endpoints()
            state.dispatcher.wake()

        return job


# --------------------------------------------------------------------------- the parent


@dataclass
class Supervisor:
    """Forks the workers, passes signals on, restarts a worker that dies, exits with them."""

    count: int
    run_worker: Callable[[int, socket.socket, Siblings], int]
    socks: list[socket.socket]
    dispatching: int | None = 0
    pipe: WakePipe = field(default_factory=WakePipe.create)
    children: dict[int, int] = field(default_factory=dict)  # pid -> worker index
    deaths: list[float] = field(default_factory=list)
    stopping: bool = False
    failed: bool = False

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        for signum in FORWARDED:
            signal.signal(signum, self._forward)
        for index in range(self.count):
            self._fork(index)
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            if pid not in self.children:
                continue
            index = self.children.pop(pid)
            code = os.waitstatus_to_exitcode(status)
            if self.stopping:
                self.failed |= code != 0
                continue
            log.error("worker.exited", worker=index, pid=pid, exit_code=code)
            now = time.monotonic()
            self.deaths = [t for t in self.deaths if now - t < RESTART_WINDOW] + [now]
            if len(self.deaths) > MAX_RESTARTS:
                log.error("worker.restarts_exhausted", restarts=MAX_RESTARTS, window_s=RESTART_WINDOW)
                self.failed = True
                self._stop(signal.SIGTERM, None)
                continue
            self._fork(index)
        return 1 if self.failed else 0

    def _fork(self, index: int) -> None:
        sys.stdout.flush()  # nothing buffered may be written twice
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = self._child(index, parent)
            finally:
                os._exit(code)
        self.children[pid] = index
        log.info("worker.started", worker=index, pid=pid)
        if self.stopping:  # SIGTERM came while forking: this one was not told yet
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _child(self, index: int, parent: int) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        for signum in FORWARDED:
            signal.signal(signum, signal.SIG_IGN)  # until the worker's loop handles them
        _die_with_parent()
        if os.getppid() != parent:
            return 1  # the parent died before the wish to die with it was made
        sock = self.socks[index]
        for other in self.socks:
            if other is not sock:
                other.close()
        siblings = Siblings(index=index, pipe=self.pipe, parent=parent, dispatching=self.dispatching)
        return self.run_worker(index, sock, siblings)

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _forward(self, signum: int, _frame: FrameType | None) -> None:
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)


def _die_with_parent() -> None:
    """A worker outlives no parent: if it is killed, the workers drain and stop."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
