"""The pieces of ``gateway.workers`` that run inside one process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from gateway.metrics import SHARED_DIR_PREFIX, remove_orphaned_dirs
from gateway.workers import Siblings, Supervisor, WakePipe, listeners


def _pending_bytes(pipe: WakePipe) -> bytes:
    try:
        return os.read(pipe.read_fd, 4096)
    except BlockingIOError:
        return b""


async def test_a_burst_of_pokes_in_one_loop_turn_writes_one_byte() -> None:
    pipe = WakePipe.create()
    for _ in range(50):
        pipe.poke()
    assert _pending_bytes(pipe) == b""  # written on the next turn, not inline
    await asyncio.sleep(0)
    assert _pending_bytes(pipe) == b"\0"
    pipe.poke()
    await asyncio.sleep(0)
    pipe.poke()
    await asyncio.sleep(0)
    assert _pending_bytes(pipe) == b"\0\0"


async def test_a_full_pipe_drops_the_poke_and_drain_empties_it() -> None:
    pipe = WakePipe.create()
    while True:
        try:
            os.write(pipe.write_fd, b"\0" * 4096)
        except BlockingIOError:
            break
    pipe.poke()
    await asyncio.sleep(0)  # no error: a wake is pending anyway
    pipe.drain()
    assert _pending_bytes(pipe) == b""


async def test_only_a_worker_that_does_not_dispatch_wakes_the_one_that_does() -> None:
    pipe = WakePipe.create()
    Siblings(index=0, pipe=pipe, parent=os.getpid(), dispatching=0).wake()
    Siblings(index=1, pipe=pipe, parent=os.getpid(), dispatching=None).wake()
    await asyncio.sleep(0)
    assert _pending_bytes(pipe) == b""
    Siblings(index=1, pipe=pipe, parent=os.getpid(), dispatching=0).wake()
    await asyncio.sleep(0)
    assert _pending_bytes(pipe) == b"\0"


def test_listeners_share_one_port_picked_by_the_first() -> None:
    socks = listeners("127.0.0.1", 0, 3)
    try:
        ports = {s.getsockname()[1] for s in socks}
        assert len(ports) == 1 and ports != {0}
        with socket.create_connection(("127.0.0.1", ports.pop()), timeout=5):
            pass  # one of them accepts into its backlog
    finally:
        for s in socks:
            s.close()


def test_shared_metric_dirs_of_dead_gateways_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f"{SHARED_DIR_PREFIX}{dead.pid}-abc"
    mine = tmp_path / f"{SHARED_DIR_PREFIX}{os.getpid()}-def"
    unrelated = tmp_path / "rms-gateway-metrics-notapid-x"
    for d in (orphan, mine, unrelated):
        d.mkdir()
        (d / "counter_1.db").write_bytes(b"\0")
    remove_orphaned_dirs(tmp_path)
    assert not orphan.exists()
    assert mine.exists() and unrelated.exists()


def test_a_worker_forked_while_the_gateway_stops_is_told_to_stop(tmp_path: Path) -> None:
    def worker(index: int, sock: socket.socket, siblings: Siblings) -> int:
        while True:  # only a signal ends it
            signal.pause()

    socks = listeners("127.0.0.1", 0, 1)
    supervisor = Supervisor(1, worker, socks, dispatching=None)
    supervisor.stopping = True  # SIGTERM was handled before this fork registered its child
    try:
        supervisor._fork(0)
        [pid] = supervisor.children
        status: list[int] = []
        waiter = threading.Thread(target=lambda: status.append(os.waitpid(pid, 0)[1]))
        waiter.start()
        waiter.join(timeout=20)
        if waiter.is_alive():  # it was never told: end it so the assertion below says so
            os.kill(pid, signal.SIGKILL)
            waiter.join()
        assert os.waitstatus_to_exitcode(status[0]) == -signal.SIGTERM
    finally:
        for s in socks:
            s.close()
