"""The real ``gateway serve`` process, run in a temp directory, and what the tests of it share."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from sinks import Sink
from support import CREDENTIALS, NETGUARD, wait_until_sync

#: A Shiprocket webhook's headers, with acme's credential.
HEADERS = {"content-type": "application/json", **CREDENTIALS["acme"]["shiprocket"]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class GatewayProcess:
    def __init__(self, workdir: Path, *, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        self.workdir = workdir
        self.args = args
        self.port = free_port()
        pythonpath = os.pathsep.join(p for p in (str(NETGUARD), os.environ.get("PYTHONPATH", "")) if p)
        self.env = {**os.environ, "GATEWAY_LOG_FORMAT": "json", "PYTHONPATH": pythonpath, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "gateway.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gateway.cli",
                    "serve",
                    "--config",
                    "gateway.toml",
                    "--routes",
                    "routes",
                    "--port",
                    str(self.port),
                    *self.args,
                ],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_sync(self._ready, timeout=timeout, what=lambda: f"gateway ready:\n{self.log_path.read_text()}")

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=0.5).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self, sig: int = signal.SIGKILL) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log_lines(self) -> list[str]:
        return self.log_path.read_text().splitlines() if self.log_path.exists() else []


def children(pid: int) -> list[int]:
    """The pids of ``pid``'s child processes, every thread's (from /proc)."""
    tasks = Path(f"/proc/{pid}/task")
    return [int(c) for task in tasks.iterdir() for c in (task / "children").read_text().split()]


def configure(workdir: Path, sink: Sink, *, timeout: str, lease: str) -> None:
    """The work directory's config for delivering acme's webhooks to ``sink`` (endpoint "all")."""
    (workdir / "gateway.toml").write_text(
        '[store]\nurl = "sqlite:///data/gateway.db"\n'
        f'[delivery]\ntimeout = "{timeout}"\nlease = "{lease}"\nallow_private_destinations = true\n'
        'retry_schedule = ["1s", "1s", "1s"]\njitter = 0\n'
    )
    routes = (workdir / "routes" / "acme.toml").read_text()
    routes = routes.replace('url = "http://127.0.0.1:9/all"', f'url = "{sink.url()}"')
    (workdir / "routes" / "acme.toml").write_text(routes)
    (workdir / "routes" / "beta.toml").unlink()


def received_ids(sink: Sink, path: str = "/hook") -> list[str]:
    return [r.headers["webhook-id"] for r in sink.received if r.path == path]
