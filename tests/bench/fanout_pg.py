"""Fan-out bench on PostgreSQL: a backlog drained by one gateway process, then by three, beside SQLite.

    .venv/bin/python tests/bench/fanout_pg.py [--notifications 20000] [--endpoints 1] [--processes 3]

Not part of the test run; 127.0.0.1 only; bounded in time. Reuses ``fanout.py``'s sink and
drain measurement: the same backlog (``--notifications`` accepted Shiprocket webhooks × the
endpoints, built in-process through the store's own ``ingest``) is drained by ``sqlite`` (one
process, ``fanout.phase_drain``), ``pg×1`` and ``pg×N`` (fresh databases on 127.0.0.1:5432).
Prints deliveries/s (the sink's own receive times), the gateways' and PostgreSQL's CPU per
delivery, and how busy the machine was.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fanout  # noqa: E402
import fanout_procs as procs  # noqa: E402
import ingest as bench  # noqa: E402
import ingest_pg  # noqa: E402
import loadgen  # noqa: E402
import orjson  # noqa: E402

from gateway.inbound import shiprocket  # noqa: E402
from gateway.ingest import new_event_id  # noqa: E402
from gateway.routing import load_routes  # noqa: E402
from gateway.store.base import IngestJob  # noqa: E402
from gateway.store.postgres import PostgresStore  # noqa: E402

BATCH = 2000


async def build_backlog_pg(url: str, routes_dir: Path, notifications: int, tag: str) -> None:
    routes = load_routes(routes_dir).get(procs.ORG)
    assert routes is not None
    prefix, suffix = loadgen.shiprocket_body_parts()
    store = PostgresStore(url)
    await store.open()
    try:
        await store.sync_file_endpoints(procs.ORG, routes.endpoints)
        for start in range(0, notifications, BATCH):
            jobs = []
            for i in range(start, min(start + BATCH, notifications)):
                events = shiprocket.parse(orjson.loads(prefix + loadgen.awb(tag, 0, i).encode() + suffix)).events
                ids = [new_event_id() for _ in events]
                jobs.append(IngestJob(org=procs.ORG, events=events, event_ids=ids, received_at=time.time()))
            for outcome in await store.ingest(jobs):
                if isinstance(outcome, BaseException):
                    raise outcome
    finally:
        await store.close()


def phase_pg(tmp: Path, sink: bench.Server, processes: int, args: argparse.Namespace) -> tuple[str, float, str]:
    database = f"gw_fanout_{uuid.uuid4().hex[:10]}"
    url = f"postgresql://postgres@127.0.0.1:5432/{database}"
    ingest_pg.pg_admin(f"CREATE DATABASE {database}")
    try:
        workdir = tmp / database
        procs.write_gateway_files(workdir, sink, args.endpoints, args)
        config = workdir / "gateway.toml"
        lines = [f'url = "{url}"' if ln.startswith("url = ") else ln for ln in config.read_text().splitlines()]
        config.write_text("\n".join(lines) + "\n")
        started = time.perf_counter()
        asyncio.run(build_backlog_pg(url, workdir / "routes", args.notifications, f"F{processes}"))
        print(f"  pg×{processes}: backlog built in {time.perf_counter() - started:.1f} s", flush=True)
        procs.sink_reset(sink)
        mark = args.notifications * args.endpoints
        pg0 = ingest_pg.postgres_cpu_seconds()
        gateways = [procs.start_gateway(workdir, f"gateway-pg{processes}-{i}") for i in range(processes)]
        try:
            row = procs.drain(sink, gateways[0], f"pg×{processes}", mark, procs.drain_timeout(mark))
            gw = sum(bench.tree_cpu_seconds(g.pid) for g in gateways)
            pg = ingest_pg.postgres_cpu_seconds() - pg0  # before the stop: backends take their CPU with them
        finally:
            for gateway in gateways:
                gateway.stop()
        rate = row.deliveries / row.seconds
        # Start-up and the tail are inside these CPU totals: an upper bound per delivery.
        note = f"gateways {gw / mark * 1e6:.0f} µs/delivery, PostgreSQL {pg / mark * 1e6:.0f} µs/delivery (incl. start)"
        return f"pg×{processes}", rate, note
    finally:
        ingest_pg.pg_admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def run(args: argparse.Namespace, tmp: Path) -> int:
    sink = procs.start_sink(tmp)
    rows: list[tuple[str, float, str]] = []
    mark = args.notifications * args.endpoints
    drained, _ = fanout.phase_drain(tmp, sink, "sqlite", "sqlite×1", args.endpoints, args.notifications, mark, args)
    rows.append(("sqlite×1", drained.deliveries / drained.seconds, f"gateway {drained.gw_cpu_us:.0f} µs/delivery"))
    for processes in (1, args.processes):
        rows.append(phase_pg(tmp, sink, processes, args))
    print()
    print(f"{args.notifications} notifications × {args.endpoints} endpoint(s) = {mark} deliveries")
    for name, rate, note in rows:
        print(f"{name:<9} {rate:>9.0f} deliveries/s   {note}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notifications", type=int, default=20_000)
    parser.add_argument("--endpoints", type=int, default=1)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--max-in-flight", type=int, default=64)
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="warning")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    args.timeline, args.py_spy = False, None
    if not 100 <= args.notifications <= 200_000 or not 1 <= args.processes <= 8 or not 1 <= args.endpoints <= 8:
        parser.error("notifications 100..200000, processes 1..8, endpoints 1..8")
    try:
        with bench.cleanup(args.keep) as tmp:
            return run(args, tmp)
    except bench.BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
