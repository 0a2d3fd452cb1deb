"""Fan-out bench: the gateway's delivery rate, CPU and end-to-end latency against a raw aiohttp loop.

    .venv/bin/python tests/bench/fanout.py [--phases a,b,c,d,e] [--backlog 1000000] [--duration 10]

Not part of the test run; 127.0.0.1 only; every phase bounded in time. One sink process (raw
ASGI on uvicorn: ``fanout_sink.py``) serves every phase:

(a) the ceiling: a raw aiohttp loop (``fanout_clients.py raw``: 64 senders, pool of 64, uvloop)
    POSTs the gateway's own envelope body to the sink;
(b) the gateway (``gateway serve``, role all) drains a backlog of ``--notifications`` accepted
    webhooks to 1 and then to 4 endpoints on the sink;
(c) the same drain measured over the first ``--window`` deliveries of a ``--backlog``-delivery
    table, against the same window with only those rows in the table;
(d) end-to-end latency: open-loop Shiprocket webhooks at ``--rate``/s, fan-out 2, each
    delivery's sink receive time joined with the webhook's acknowledgement by event id;
(e) isolation: the same latency at ``--iso-rate``/s to one healthy endpoint, alone and beside an
    endpoint that never answers and one that drips its body (``fanout_isolation.py``).

Backlogs are built in-process through the store's ``ingest`` (``fanout_backlog.py``). Prints
deliveries/s, CPU µs per delivery, latency percentiles and PASS/FAIL against the issue's
targets. Exit status 0 = all targets met, 1 = a target missed, 2 = the bench itself failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fanout_backlog
import fanout_isolation
import fanout_report as report
import ingest as bench  # sibling bench: process, CPU and clean-up helpers
from fanout_procs import (
    HOST,
    ORG,
    SHIPROCKET_TOKEN,
    discard,
    drain,
    drain_timeout,
    maybe_py_spy,
    sink_reset,
    sink_stats,
    start_gateway,
    start_sink,
    timeline,
    write_gateway_files,
)

HERE = Path(__file__).resolve().parent
LATENCY_FANOUT = 2


# --------------------------------------------------------------------------- phases


def phase_raw(tmp: Path, sink: bench.Server, body: bytes, args: argparse.Namespace) -> report.Drain:
    body_file = tmp / "raw-body.json"
    body_file.write_bytes(body)
    sink_reset(sink)
    cmd = [sys.executable, str(HERE / "fanout_clients.py"), "raw", "--url", f"http://{HOST}:{sink.port}/raw"]
    cmd += ["--body-file", str(body_file), "--concurrency", str(args.concurrency)]
    cmd += ["--warmup", str(args.warmup), "--requests", str(args.requests)]
    sink0, busy0 = bench.tree_cpu_seconds(sink.pid), bench.machine_busy()
    out = json.loads(bench.run_bounded(cmd, timeout=drain_timeout(args.requests + args.warmup)).splitlines()[-1])
    sink1, busy1 = bench.tree_cpu_seconds(sink.pid), bench.machine_busy()
    total = args.requests + args.warmup
    row = report.Drain(
        name=f"(a) raw aiohttp loop, {args.concurrency} senders",
        deliveries=int(out["requests"]),
        seconds=float(out["elapsed_s"]),
        gw_cpu_us=float(out["cpu_us"]),
        sink_cpu_us=(sink1 - sink0) / total * 1e6,  # warm-up included: the sink is not the subject
        busy_pct=(busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]) * 100,
    )
    row.notes.append(f"client CPU is the aiohttp process's; body {out['body_bytes']} B; failures {out['failures']}")
    return row


def phase_drain(
    tmp: Path,
    sink: bench.Server,
    name: str,
    label: str,
    endpoints: int,
    notifications: int,
    mark: int,
    args: argparse.Namespace,
) -> tuple[report.Drain, Path]:
    """Build a backlog, start the gateway on it, measure until ``mark`` deliveries, stop it."""
    workdir = tmp / name
    db = write_gateway_files(workdir, sink, endpoints, args)
    built = fanout_backlog.build_backlog(db, workdir / "routes", ORG, notifications, name[:2].upper())
    pending = fanout_backlog.pending_counts(db).get("pending", 0)
    print(
        f"  {name}: built {notifications} notifications × {endpoints} endpoints = {pending} pending "
        f"deliveries in {built:.1f} s ({db.stat().st_size / 1e6:.0f} MB)",
        flush=True,
    )
    sink_reset(sink)
    gateway = start_gateway(workdir, f"gateway-{name}")
    spy = maybe_py_spy(args, gateway, name)
    try:
        row = drain(sink, gateway, label, mark, drain_timeout(mark))
        if args.timeline:
            row.notes.append("deliveries/s per 0.5 s: " + timeline(sink))
    finally:
        gateway.stop()
        if spy is not None:
            spy.wait(timeout=args.py_spy_seconds + 30)
    states = fanout_backlog.pending_counts(db)
    row.notes.append(f"backlog {pending} pending deliveries, built in {built:.1f} s; after stop: {states}")
    return row, db


def phase_latency(tmp: Path, sink: bench.Server, args: argparse.Namespace) -> report.Latency:
    workdir = tmp / "d-latency"
    db = write_gateway_files(workdir, sink, LATENCY_FANOUT, args)
    gateway = start_gateway(workdir, "gateway-d")
    try:
        gateway.wait_ready("/readyz", {200})
        sink_reset(sink)
        out_file = workdir / "answers.json"
        cmd = [sys.executable, str(HERE / "fanout_clients.py"), "open"]
        cmd += ["--url", f"http://{HOST}:{gateway.port}/v1/{ORG}/webhooks/shiprocket"]
        cmd += ["--header", f"x-api-key: {SHIPROCKET_TOKEN}", "--rate", str(args.rate)]
        cmd += ["--duration", str(args.duration + args.latency_warmup), "--tag", "LD", "--out", str(out_file)]
        cpu0 = bench.tree_cpu_seconds(gateway.pid)
        out = json.loads(bench.run_bounded(cmd, timeout=args.duration + args.latency_warmup + 40).splitlines()[-1])
        ok = int(out["ok"])
        deadline = time.monotonic() + 30
        while int(sink_stats(sink)["total"]) < ok * LATENCY_FANOUT and time.monotonic() < deadline:  # type: ignore[call-overload]
            time.sleep(0.1)
        cpu1 = bench.tree_cpu_seconds(gateway.pid)
        _, dump = bench.http_call(sink.port, "GET", "/dump", timeout=30)
    finally:
        gateway.stop()
    records = json.loads(out_file.read_text())
    received = [(str(i), float(t)) for i, t in json.loads(dump)]
    first = min((float(r[0]) for r in records), default=0.0)
    ms, webhooks, event_ids, seen = report.join_latency(
        records, received, fanout_backlog.accepted_times(db), first + args.latency_warmup
    )
    lat = report.Latency(
        webhooks=webhooks,
        expected=event_ids * LATENCY_FANOUT,
        received=seen,
        achieved_rate=int(out["requests"]) / float(out["elapsed_s"]),
        ms=ms,
        gw_cpu_us_per_webhook=(cpu1 - cpu0) / max(1, ok) * 1e6,
    )
    lat.notes.append(
        f"generator: {out['requests']} sent, {ok} × 200, {out['non200']} other, {out['errors']} errors, "
        f"dispatch lag p99 {out['lag_p99_ms']:.2f} ms; first {args.latency_warmup:g} s not counted"
    )
    lat.notes.append("acknowledged/sent: the generator's clock; accepted: the gateway's received_at (same host)")
    return lat


# --------------------------------------------------------------------------- main


def run(args: argparse.Namespace, tmp: Path) -> int:
    phases = set(args.phases.split(","))
    print(
        f"fan-out bench: {os.cpu_count()} CPUs, phases {','.join(sorted(phases))}, max_in_flight "
        f"{args.max_in_flight}/endpoint, gateway log level {args.log_level}; code {bench.code_version()}",
        flush=True,
    )
    sink = start_sink(tmp)
    drains: dict[str, report.Drain] = {}
    latency: report.Latency | None = None
    isolation: list[fanout_isolation.IsoRun] = []
    k = args.notifications
    if phases & {"a", "b"}:
        b1, db1 = phase_drain(tmp, sink, "b1", "(b) gateway backlog → 1 endpoint", 1, k, k, args)
        if "a" in phases:
            drains["raw"] = phase_raw(tmp, sink, fanout_backlog.sample_envelope(db1), args)
        if "b" in phases:
            drains["b1"] = b1
            drains["b4"], _ = phase_drain(tmp, sink, "b4", "(b) gateway backlog → 4 endpoints", 4, k, 4 * k, args)
        discard(tmp, args, "b1", "b4")
    if "c" in phases:
        e = args.backlog_endpoints
        window = args.window // e * e  # whole notifications: the small table holds exactly the window
        drains["c-small"], _ = phase_drain(
            tmp, sink, "c-small", f"(c) {window} pending, first {window}", e, window // e, window, args
        )
        discard(tmp, args, "c-small")
        drains["c-big"], _ = phase_drain(
            tmp, sink, "c-big", f"(c) {args.backlog} pending, first {window}", e, args.backlog // e, window, args
        )
        discard(tmp, args, "c-big")
    if "d" in phases:
        latency = phase_latency(tmp, sink, args)
    if "e" in phases:
        isolation = fanout_isolation.phase_isolation(tmp, sink, args)
    sink.stop()
    ok = print_report(args, drains, latency, isolation)
    if args.json:
        payload = {
            "drains": [d.__dict__ for d in drains.values()],
            "latency": latency.__dict__ if latency else None,
            "isolation": [r.__dict__ for r in isolation],
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str))
    return 0 if ok else 1


def print_report(
    args: argparse.Namespace,
    drains: dict[str, report.Drain],
    latency: report.Latency | None,
    isolation: list[fanout_isolation.IsoRun],
) -> bool:
    """The tables, then PASS/FAIL per target; True when every target is met."""
    if drains:
        print()
        for line in report.drain_table(list(drains.values())):
            print(line)
    if "raw" in drains:
        for key in ("b1", "b4"):
            if key in drains:
                print(
                    f"{drains[key].name}: {drains[key].rate / drains['raw'].rate:.3f} × the raw loop's rate, "
                    f"{(drains[key].gw_cpu_us or 0) / (drains['raw'].gw_cpu_us or 1):.1f} × its CPU per delivery"
                )
    if latency is not None:
        print()
        for line in report.latency_lines(latency, args.rate, LATENCY_FANOUT):
            print(line)
    if isolation:
        print()
        for line in fanout_isolation.isolation_lines(isolation, args):
            print(line)
    print()
    ok = True
    results = report.verdicts(drains, latency, args.rate, LATENCY_FANOUT)
    if isolation:
        results += fanout_isolation.isolation_verdicts(isolation, args)
    for text, passed in results:
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'}  {text}")
    return ok


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--phases", default="a,b,c,d,e", help="any of a,b,c,d,e (default all)")
    p.add_argument("--requests", type=int, default=20_000, help="(a) timed POSTs (default 20000)")
    p.add_argument("--warmup", type=int, default=1000, help="(a) untimed warm-up POSTs (default 1000)")
    p.add_argument("--concurrency", type=int, default=64, help="(a) senders and pool size (default 64)")
    p.add_argument("--notifications", type=int, default=20_000, help="(b) backlog of accepted webhooks (default 20000)")
    p.add_argument("--backlog", type=int, default=1_000_000, help="(c) pending deliveries (default 1000000)")
    p.add_argument("--backlog-endpoints", type=int, default=4, help="(c) endpoints they fan out to (default 4)")
    p.add_argument("--window", type=int, default=40_000, help="(c) deliveries measured (default 40000)")
    p.add_argument("--rate", type=float, default=300.0, help="(d) webhooks/s (default 300)")
    p.add_argument("--duration", type=float, default=10.0, help="(d, e) measured seconds (default 10)")
    p.add_argument("--latency-warmup", type=float, default=2.0, help="(d, e) seconds not counted first (default 2)")
    p.add_argument("--iso-rate", type=float, default=200.0, help="(e) webhooks/s (default 200)")
    p.add_argument("--iso-runs", type=int, default=2, help="(e) runs of each configuration, best p95 kept (default 2)")
    p.add_argument("--max-in-flight", type=int, default=64, help="per bench endpoint (default 64)")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="warning")
    p.add_argument("--timeline", action="store_true", help="print each drain's deliveries/s per 0.5 s")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (configs, logs, databases)")
    p.add_argument("--json", type=Path, help="also write the figures here")
    p.add_argument("--py-spy", type=Path, metavar="DIR", help="sample each draining gateway with py-spy into DIR")
    p.add_argument("--py-spy-seconds", type=float, default=10.0, help="py-spy duration per gateway (default 10)")
    args = p.parse_args(argv)
    if not set(args.phases.split(",")) <= {"a", "b", "c", "d", "e"}:
        p.error("--phases: a comma-separated subset of a,b,c,d,e")
    if not 1 <= args.concurrency <= 1024 or not 1 <= args.max_in_flight <= 1024:
        p.error("--concurrency and --max-in-flight must be 1..1024")
    if not 100 <= args.requests <= 1_000_000 or not 0 <= args.warmup <= 100_000:
        p.error("--requests must be 100..1000000 and --warmup 0..100000")
    if not 100 <= args.notifications <= 1_000_000 or not 1 <= args.backlog_endpoints <= 16:
        p.error("--notifications must be 100..1000000 and --backlog-endpoints 1..16")
    if not 1000 <= args.window <= args.backlog <= 10_000_000:
        p.error("need 1000 <= --window <= --backlog <= 10000000")
    if not 1 <= args.rate <= 5000 or not 1 <= args.duration <= 300 or not 0 <= args.latency_warmup <= 30:
        p.error("--rate must be 1..5000, --duration 1..300 s, --latency-warmup 0..30 s")
    if not 1 <= args.iso_rate <= 5000 or not 1 <= args.iso_runs <= 10:
        p.error("--iso-rate must be 1..5000 and --iso-runs 1..10")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        with bench.cleanup(args.keep) as tmp:
            return run(args, tmp)
    except bench.BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
