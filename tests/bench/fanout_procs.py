"""Processes and measurements of the fan-out bench: the sink, the gateway, and one drain.

A drain runs from the first delivery the sink sees until the ``mark``-th. The sink's own
receive times give the rate; CPU comes from /proc (``ingest.py``'s helpers) at the polls that
saw the first and the ``mark``-th delivery.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fanout_report as report
import ingest as bench  # sibling bench: process, CPU and clean-up helpers

HERE = Path(__file__).resolve().parent
HOST = bench.HOST
ORG = "bench"
SHIPROCKET_TOKEN = "bench-shiprocket-token-0001"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NETGUARD = HERE.parent / "netguard"
POLL_SECONDS = 0.02


def child_env() -> dict[str, str]:
    """No inherited GATEWAY_* overrides; the test suite's DNS guard loaded in every child."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(NETGUARD), env.get("PYTHONPATH", "")) if p)
    return env


def start_sink(tmp: Path, name: str = "sink") -> bench.Server:
    port = bench.free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "fanout_sink:app"]
    cmd += ["--host", HOST, "--port", str(port), "--workers", "1", "--loop", "uvloop", "--http", "httptools"]
    cmd += ["--no-access-log", "--timeout-keep-alive", "30", "--log-level", "warning"]
    server = bench.Server(name, cmd, port, tmp / f"{name}.log", child_env(), tmp)
    server.start()
    server.wait_ready("/stats", {200})
    return server


def sink_stats(sink: bench.Server, mark: int = 0) -> dict[str, object]:
    status, body = bench.http_call(sink.port, "GET", f"/stats?mark={mark}")
    if status != 200:
        raise bench.BenchError(f"sink /stats answered {status}")
    stats: dict[str, object] = json.loads(body)
    return stats


def sink_reset(sink: bench.Server) -> None:
    bench.http_call(sink.port, "POST", "/reset", {"content-length": "0"})


def write_gateway_files(workdir: Path, sink: bench.Server, endpoints: int, args: argparse.Namespace) -> Path:
    workdir.mkdir(parents=True)
    (workdir / "routes").mkdir()
    (workdir / "gateway.toml").write_text(
        f'[server]\nhost = "{HOST}"\n\n[store]\nurl = "sqlite:///{workdir / "gateway.db"}"\n\n'
        "[delivery]\nallow_private_destinations = true\n\n"
        f'[log]\nformat = "json"\nlevel = "{args.log_level}"\n'
    )
    blocks = "".join(
        f'\n[[endpoints]]\nname = "ep-{i}"\nurl = "http://{HOST}:{sink.port}/ep-{i}"\ntypes = ["*"]\n'
        f'max_in_flight = {args.max_in_flight}\nsecret = "{SECRET}"\n'
        for i in range(1, endpoints + 1)
    )
    (workdir / "routes" / f"{ORG}.toml").write_text(
        f'org = "{ORG}"\n\n[sources.shiprocket]\ntokens = ["{SHIPROCKET_TOKEN}"]\n{blocks}'
    )
    return workdir / "gateway.db"


def start_gateway(workdir: Path, name: str) -> bench.Server:
    port = bench.free_port()
    exe = str(Path(sys.executable).with_name("gateway"))
    cmd = [exe, "serve", "--config", "gateway.toml", "--routes", "routes", "--port", str(port), "--role", "all"]
    server = bench.Server(name, cmd, port, workdir / "gateway.log", child_env(), workdir)
    server.start()
    return server


def maybe_py_spy(args: argparse.Namespace, gateway: bench.Server, name: str) -> subprocess.Popen[bytes] | None:
    if args.py_spy is None:
        return None
    args.py_spy.mkdir(parents=True, exist_ok=True)
    return bench.start_py_spy(gateway.pid, args.py_spy / f"{name}.txt", args.py_spy_seconds)


@dataclass(frozen=True)
class CpuSample:
    count: int  # deliveries the sink had seen
    gateway: float
    main: float
    other: float
    sink: float
    busy: tuple[float, float]


def _cpu_sample(count: int, gateway: bench.Server, sink: bench.Server) -> CpuSample:
    main, other = bench.thread_cpu_seconds(gateway.pid)
    return CpuSample(
        count, bench.tree_cpu_seconds(gateway.pid), main, other, bench.tree_cpu_seconds(sink.pid), bench.machine_busy()
    )


def drain(sink: bench.Server, gateway: bench.Server, name: str, mark: int, timeout: float) -> report.Drain:
    """From the first delivery at the sink until the ``mark``-th: the sink's own receive times
    give the rate; the gateway's CPU (its process tree, /proc) is taken at the polls that saw
    the first and the ``mark``-th delivery."""
    deadline = time.monotonic() + timeout
    start: CpuSample | None = None
    while time.monotonic() < deadline:
        if gateway.proc is not None and gateway.proc.poll() is not None:
            raise bench.BenchError(f"{name}: the gateway exited with {gateway.proc.returncode}:\n{gateway.tail()}")
        stats = sink_stats(sink, mark)
        total = int(stats["total"])  # type: ignore[call-overload]
        if start is None and total > 0:
            start = _cpu_sample(total, gateway, sink)
        if stats["mark"] is not None and start is not None:
            end = _cpu_sample(total, gateway, sink)
            per = 1e6 / max(1, end.count - start.count)
            row = report.Drain(
                name=name,
                deliveries=mark,
                seconds=float(stats["mark"]) - float(stats["first"]),  # type: ignore[arg-type]
                gw_cpu_us=(end.gateway - start.gateway) * per,
                sink_cpu_us=(end.sink - start.sink) * per,
                busy_pct=(end.busy[0] - start.busy[0]) / max(1, end.busy[1] - start.busy[1]) * 100,
            )
            row.notes.append(
                f"gateway CPU µs/delivery by thread: main (event loop) {(end.main - start.main) * per:.1f}, "
                f"other threads (SQLite) {(end.other - start.other) * per:.1f}"
            )
            return row
        time.sleep(POLL_SECONDS)
    got = sink_stats(sink)["total"]
    raise bench.BenchError(f"{name}: {got}/{mark} deliveries after {timeout:.0f} s:\n{gateway.tail()}")


def timeline(sink: bench.Server, bucket: float = 0.5) -> str:
    """The sink's receive rate over time, to tell a slow start or a slow tail from a steady rate."""
    times = [float(t) for _, t in json.loads(bench.http_call(sink.port, "GET", "/dump", timeout=30)[1])]
    if not times:
        return "-"
    counts: dict[int, int] = {}
    for t in times:
        counts[int((t - times[0]) / bucket)] = counts.get(int((t - times[0]) / bucket), 0) + 1
    return " ".join(str(round(counts.get(i, 0) / bucket)) for i in range(max(counts) + 1))


def drain_timeout(deliveries: int) -> float:
    return 60.0 + deliveries / 200.0  # bounded even if the gateway crawls at 200/s


def discard(tmp: Path, args: argparse.Namespace, *names: str) -> None:
    """Free the disk of a finished phase (a million-row store is about 700 MB) unless --keep."""
    if not args.keep:
        for name in names:
            shutil.rmtree(tmp / name, ignore_errors=True)
