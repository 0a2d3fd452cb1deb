"""Ingest bench on PostgreSQL: one gateway process, then three sharing one database, beside SQLite.

    .venv/bin/python tests/bench/ingest_pg.py [--duration 10] [--connections 64] [--processes 3] [--rounds 3]

Not part of the test run. Reuses ``ingest.py``'s process and load helpers. For each setup —
``sqlite`` (one process, its own file), ``pg×1`` and ``pg×N`` (one fresh database each, on the
local server 127.0.0.1:5432) — it starts the ``gateway serve`` processes, parks both
endpoints through the admin API (so ingest is measured alone), warms up, then runs a closed
loop of ``--connections`` connections split evenly over the processes (one wrk, or
``loadgen.py``, per process, all at once). Every request is a 1 KB Shiprocket webhook with a
unique AWB: a new leg, a notification and two outbox rows.

The two PostgreSQL setups stay up together and take turns for ``--rounds`` rounds (their
order alternating): on a shared box the speed drifts by tens of percent within minutes,
and the ratio of two adjacent runs carries little of that. Each run starts on emptied
tables after a CHECKPOINT. The verdict uses the median of the rounds' ratios.

Prints req/s (the sum over the processes), the worst per-process p50/p99, errors, how busy
the machine was, CPU per request of the gateways and of PostgreSQL, the gateways' sessions
running a statement on average and the share of those waiting on another's lock (sampled
from pg_stat_activity every 20 ms), and the notifications
each run stored beside the requests acknowledged in it (warm-up included): none may be lost.
Target: ``pg×N`` ≥ 1.5 × ``pg×1`` req/s. Exit 0 = target met, 1 = missed, 2 = the bench failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import asyncpg  # noqa: E402
import ingest  # noqa: E402  (a sibling script, not a package)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_SCALE = 1.5

T = TypeVar("T")


@dataclass
class Result:
    setup: str
    processes: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    acked: int
    busy_pct: float
    stored: int
    #: Acknowledged (warm-up and measured run) but not in the store afterwards: must be 0.
    lost: int
    gateway_us: float
    postgres_us: float
    #: Gateway sessions running a statement, on average over the samples (PostgreSQL only).
    sessions: float = 0.0
    #: Of those, the share waiting on a lock held by another session.
    locked_pct: float = 0.0
    #: Requests per committed transaction: about the mean ingest batch (PostgreSQL only).
    batch: float = 0.0


def write_files(tmp: Path, store_url: str) -> tuple[Path, Path]:
    config = tmp / "gateway.toml"
    config.write_text(
        f'[store]\nurl = "{store_url}"\n\n[admin]\ntoken = "{ingest.ADMIN_TOKEN}"\n\n'
        '[log]\nformat = "json"\nlevel = "warning"\n'
    )
    routes = tmp / "routes"
    routes.mkdir(exist_ok=True)
    # IP literals: nothing here is ever resolved, and the endpoints are parked anyway.
    endpoints = "".join(
        f'\n[[endpoints]]\nname = "{name}"\nurl = "http://127.0.0.1:9/{name}"\ntypes = ["*"]\n'
        for name in ingest.ENDPOINTS
    )
    (routes / f"{ingest.ORG}.toml").write_text(
        f'org = "{ingest.ORG}"\n\n[sources.shiprocket]\ntokens = ["{ingest.SHIPROCKET_TOKEN}"]\n{endpoints}'
    )
    return config, routes


def start_gateways(tmp: Path, store_url: str, count: int) -> list[ingest.Server]:
    config, routes = write_files(tmp, store_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    gateway = str(Path(sys.executable).with_name("gateway"))
    servers = []
    for i in range(count):
        port = ingest.free_port()
        cmd = [gateway, "serve", "--config", str(config), "--routes", str(routes), "--port", str(port)]
        server = ingest.Server(f"gateway-{i}", cmd, port, tmp / f"gateway-{i}.log", env, tmp)
        server.start()
        servers.append(server)
    for server in servers:
        server.wait_ready("/readyz", {200})
    ingest.park_endpoints(servers[0].port)  # the store is shared: parked for every process
    return servers


def spread(
    servers: list[ingest.Server], connections: int, duration: float, tag: str, wrk: bool
) -> list[dict[str, object]]:
    """One closed-loop generator per process, all at once. ``tag`` is one letter: with the
    process index it makes the 2-character AWB prefix, unique per generator (no duplicates)."""
    per = max(1, connections // len(servers))

    def one(i: int, server: ingest.Server) -> dict[str, object]:
        script = None
        if wrk:
            script = ingest.write_wrk_script(
                Path(server.log).with_suffix(f".{tag}.lua"), ingest.GATEWAY_PATH, ingest.GATEWAY_HEADERS
            )
        load = ingest.Load(server.port, ingest.GATEWAY_PATH, ingest.GATEWAY_HEADERS, script)
        return ingest.closed_loop(load, per, duration, f"{tag}{i}")

    with ThreadPoolExecutor(len(servers)) as pool:
        return list(pool.map(lambda pair: one(*pair), enumerate(servers)))


def pg_dsn(database: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + database


def pg_run(database: str, work: Callable[[asyncpg.Connection[Any]], Awaitable[T]]) -> T:
    """``work`` on a connection of its own to ``database`` (``postgres``: the server's own)."""

    async def run() -> T:
        conn = await asyncpg.connect(pg_dsn(database))
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


def stored_notifications_pg(database: str) -> int:
    return int(pg_run(database, lambda conn: conn.fetchval("SELECT count(*) FROM notifications")))


def pg_admin(sql: str) -> None:
    pg_run("postgres", lambda conn: conn.execute(sql))


def fresh_start(database: str) -> None:
    """Empty the tables a run fills and checkpoint: every run starts from the same state.
    Without it a later round ran on a database several times the size of shared_buffers
    and through a checkpoint (PostgreSQL CPU per request 68 -> 121 µs in the third round)."""
    pg_run(database, lambda conn: conn.execute("TRUNCATE legs, leg_keys, notifications, deliveries, attempts"))
    pg_run(database, lambda conn: conn.execute("CHECKPOINT"))


def postgres_cpu_seconds() -> float:
    """utime + stime of every PostgreSQL server process (its backends do the store's work)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if stat[stat.index("(") + 1 : stat.rindex(")")] != "postgres":
            continue
        rest = stat[stat.rindex(")") + 2 :].split()
        total += int(rest[11]) + int(rest[12])
    return total / ingest.CLK_TCK


def commits(database: str | None) -> int:
    """Transactions committed in ``database`` so far (0 without one)."""
    if database is None:
        return 0

    async def read(conn: asyncpg.Connection[Any]) -> int:
        # The statistics are flushed about once a second: force this session's view fresh.
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        return int(await conn.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = $1", database))

    return pg_run("postgres", read)


class WaitSampler:
    """Samples the gateways' PostgreSQL sessions every 20 ms during a run, from a thread of
    its own: how many were running a statement, and how many of those waited on a lock
    (advisory, row or table: ``wait_event_type = 'Lock'``). Shows whether the processes
    hold one another up in the store or only share the machine."""

    QUERY = (
        "SELECT count(*), count(*) FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity "
        "WHERE datname = $1 AND application_name = 'rms-gateway' AND state = 'active'"
    )

    def __init__(self, database: str | None) -> None:
        self.database = database
        self.samples = self.active = self.locked = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        conn = await asyncpg.connect(pg_dsn(str(self.database)))
        try:
            while not self._stop.is_set():
                active, locked = await conn.fetchrow(self.QUERY, self.database)  # type: ignore[misc]
                self.samples, self.active, self.locked = self.samples + 1, self.active + active, self.locked + locked
                await asyncio.sleep(0.02)
        finally:
            await conn.close()

    def __enter__(self) -> WaitSampler:
        if self.database is not None:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def mean_active(self) -> float:
        return self.active / max(1, self.samples)

    @property
    def locked_pct(self) -> float:
        return self.locked / max(1, self.active) * 100


def bench_setup(
    name: str,
    servers: list[ingest.Server],
    args: argparse.Namespace,
    letter: str,
    count: Callable[[], int],
    database: str | None = None,
) -> Result:
    before = count()
    warm = spread(servers, args.connections, args.warmup, letter.lower(), args.wrk)
    busy0, pg0 = ingest.machine_busy(), postgres_cpu_seconds()
    gw0 = sum(ingest.tree_cpu_seconds(s.pid) for s in servers)
    commits0 = commits(database)
    with WaitSampler(database) as waits:
        runs = spread(servers, args.connections, args.duration, letter, args.wrk)
    commits1 = commits(database)
    busy1, pg1 = ingest.machine_busy(), postgres_cpu_seconds()
    gw1 = sum(ingest.tree_cpu_seconds(s.pid) for s in servers)
    requests = max(1, sum(int(r["requests"]) for r in runs))  # type: ignore[call-overload]
    time.sleep(0.5)
    stored = count() - before
    acked = sum(int(r["ok"]) for r in runs)  # type: ignore[call-overload]
    warm_acked = sum(int(r["ok"]) for r in warm)  # type: ignore[call-overload]
    return Result(
        setup=name,
        processes=len(servers),
        rps=sum(float(str(r["rps"])) for r in runs),
        p50_ms=max(float(r["p50_ms"]) for r in runs),  # type: ignore[arg-type]
        p99_ms=max(float(r["p99_ms"]) for r in runs),  # type: ignore[arg-type]
        errors=sum(int(r["errors"]) + int(r["non2xx"]) for r in runs),  # type: ignore[call-overload]
        acked=acked,
        busy_pct=(busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]) * 100,
        stored=stored,
        lost=max(0, warm_acked + acked - stored),
        gateway_us=(gw1 - gw0) / requests * 1e6,
        postgres_us=(pg1 - pg0) / requests * 1e6,
        sessions=waits.mean_active,
        batch=requests / max(1, commits1 - commits0) if database is not None else 0.0,
        locked_pct=waits.locked_pct,
    )


def run(args: argparse.Namespace, tmp: Path) -> int:
    sqlite_dir = tmp / "sqlite"
    sqlite_dir.mkdir()
    db = sqlite_dir / "gateway.db"
    servers = start_gateways(sqlite_dir, f"sqlite:///{db}", 1)
    sqlite = bench_setup("sqlite", servers, args, "S", lambda: int(ingest.store_counts(db)["notifications"]))  # type: ignore[call-overload]
    ingest.stop_all()
    print("sqlite done", flush=True)

    databases = {count: f"gw_bench_{uuid.uuid4().hex[:10]}" for count in (1, args.processes)}
    try:
        setups: dict[int, list[ingest.Server]] = {}
        for count, database in databases.items():
            pg_admin(f"CREATE DATABASE {database}")
            work = tmp / database
            work.mkdir()
            setups[count] = start_gateways(work, f"postgresql://postgres@127.0.0.1:5432/{database}", count)
        rounds: list[tuple[Result, Result]] = []
        for r in range(args.rounds):
            # Both setups stay up and take turns, in alternating order: the box's speed drifts
            # by tens of percent within minutes, and a ratio of two adjacent runs carries little
            # of that drift.
            order = (1, args.processes) if r % 2 == 0 else (args.processes, 1)
            done: dict[int, Result] = {}
            for count in order:
                fresh_start(databases[count])
                done[count] = bench_setup(
                    f"pg×{count}",
                    setups[count],
                    args,
                    chr(ord("A") + r),  # a letter per round: AWBs stay unique within each database
                    lambda d=databases[count]: stored_notifications_pg(d),  # type: ignore[misc]
                    databases[count],
                )
            rounds.append((done[1], done[args.processes]))
            print(f"round {r + 1} done", flush=True)
    finally:
        ingest.stop_all()
        for database in databases.values():
            pg_admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    return report(sqlite, rounds, args)


def report(sqlite: Result, rounds: list[tuple[Result, Result]], args: argparse.Namespace) -> int:
    print()
    header = (
        f"{'setup':<8} {'round':>5} {'procs':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
        f"{'box %':>6} {'gw µs/req':>9} {'pg µs/req':>9} {'active':>6} {'locked':>6} {'batch':>5}  stored"
    )
    print(header)
    print("-" * len(header))
    rows = [("-", sqlite)] + [(str(i + 1), r) for i, pair in enumerate(rounds) for r in pair]
    for label, r in rows:
        print(
            f"{r.setup:<8} {label:>5} {r.processes:>5} {r.rps:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
            f"{r.errors:>6d} {r.busy_pct:>6.0f} {r.gateway_us:>9.1f} {r.postgres_us:>9.1f} {r.sessions:>6.2f} "
            f"{r.locked_pct:>5.1f}% {r.batch:>5.1f}  "
            f"{r.stored} (measured run acked {r.acked}; lost {r.lost})"
        )
    ratios = [many.rps / max(1e-9, one.rps) for one, many in rounds]
    scale = statistics.median(ratios)
    one_median = statistics.median(one.rps for one, _ in rounds)
    print()
    print(f"pg×{args.processes} / pg×1 req/s per round: {', '.join(f'{x:.2f}' for x in ratios)}; median {scale:.2f}")
    print(f"pg×1 / sqlite (median pg×1): {one_median / max(1e-9, sqlite.rps):.2f}")
    ok = scale >= TARGET_SCALE and all(r.errors == 0 and r.lost == 0 for _, r in rows)
    verdict = "PASS" if ok else "FAIL"
    print(f"{verdict}  {args.processes} processes on PostgreSQL ≥ {TARGET_SCALE}× one (median), no errors, none lost")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 120 or not 1 <= args.processes <= 8 or not 1 <= args.connections <= 1024:
        parser.error("duration 1..120 s, processes 1..8, connections 1..1024")
    if not 1 <= args.rounds <= 9:
        parser.error("rounds 1..9")
    args.wrk = args.loadgen == "wrk" or (args.loadgen == "auto" and shutil.which("wrk") is not None)
    try:
        with ingest.cleanup(args.keep) as tmp:
            return run(args, tmp)
    except ingest.BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
