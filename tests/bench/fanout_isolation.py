"""Phase (e) of the fan-out bench: a healthy endpoint's latency beside endpoints that misbehave.

Issue 3: "with one endpoint that never answers and one that drips bytes, a healthy endpoint's
delivery latency p95 stays within 20 % of its baseline". Three configurations, each on a fresh
gateway and store, with the same open-loop Shiprocket load (``fanout_clients.py open``):

* alone: one endpoint, ``/healthy`` on the sink;
* baseline: the same endpoint plus two more on a second sink process that answer 200 at once,
  all three matching every webhook: the gateway as configured, with nothing wrong;
* isolation: the same three endpoints, but the two others are ``/hang`` (never answers) and
  ``/drip`` (a byte every 0.2 s).

The verdict compares isolation with baseline: the same endpoints and the same outbox rows per
webhook, the only change being that two endpoints misbehave, which is what isolation is about.
Against alone, a third of the rows per webhook also changes; that ratio is printed as well.

Both run with ``[delivery] timeout = "5s"`` and ``lease = "15s"``, so the bad endpoints hit the
deadline several times per run. The bad endpoints live in their own sink process so that their
cost lands on the gateway, not on the process that timestamps the healthy deliveries. A p95 of
a few ms makes 20 % a fraction of a millisecond, so each configuration runs ``--iso-runs`` times
(default 2, interleaved: baseline, isolation, baseline, isolation) and the lowest p95 of each
configuration is compared; the absolute difference is printed too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fanout_report as report
import ingest as bench  # sibling bench: process, CPU and clean-up helpers
from fanout_procs import HOST, ORG, SECRET, SHIPROCKET_TOKEN, sink_reset, sink_stats, start_gateway, start_sink

HERE = Path(__file__).resolve().parent
TARGET_P95_RATIO = 1.20
TIMEOUT = "5s"
LEASE = "15s"


@dataclass
class IsoRun:
    name: str
    webhooks: int  # acknowledged webhooks counted (after the warm-up)
    received: int  # of those, delivered to the healthy endpoint
    achieved_rate: float
    p50: float
    p95: float
    p99: float
    gw_cpu_us_per_webhook: float
    busy_pct: float  # the whole box: other load on a shared machine shows here
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.received == self.webhooks


def _write_files(
    workdir: Path, name: str, sink: bench.Server, bad: bench.Server | None, args: argparse.Namespace
) -> Path:
    workdir.mkdir(parents=True)
    (workdir / "routes").mkdir()
    db = workdir / "gateway.db"
    (workdir / "gateway.toml").write_text(
        f'[server]\nhost = "{HOST}"\n\n[store]\nurl = "sqlite:///{db}"\n\n'
        f'[delivery]\nallow_private_destinations = true\ntimeout = "{TIMEOUT}"\nlease = "{LEASE}"\n\n'
        f'[log]\nformat = "json"\nlevel = "{args.log_level}"\n'
    )
    urls = {"healthy": f"http://{HOST}:{sink.port}/healthy"}
    if bad is not None and name.startswith("isolation"):
        urls |= {"hang": f"http://{HOST}:{bad.port}/hang", "drip": f"http://{HOST}:{bad.port}/drip"}
    elif bad is not None:  # the same shape with nothing wrong: both answer 200 at once
        urls |= {"fine-a": f"http://{HOST}:{bad.port}/fine-a", "fine-b": f"http://{HOST}:{bad.port}/fine-b"}
    blocks = "".join(
        f'\n[[endpoints]]\nname = "ep-{name}"\nurl = "{url}"\ntypes = ["*"]\n'
        f'max_in_flight = {args.max_in_flight}\nsecret = "{SECRET}"\n'
        for name, url in urls.items()
    )
    (workdir / "routes" / f"{ORG}.toml").write_text(
        f'org = "{ORG}"\n\n[sources.shiprocket]\ntokens = ["{SHIPROCKET_TOKEN}"]\n{blocks}'
    )
    return db


def _join(
    records: list[list[object]], received: list[tuple[str, float]], skip_before: float
) -> tuple[int, list[float]]:
    """Acknowledged webhooks after the warm-up, and received − acknowledged (ms) of their deliveries."""
    acked: dict[str, float] = {}
    webhooks = 0
    for scheduled, _sent, at, status, ids in records:
        if status != 200 or float(scheduled) < skip_before:  # type: ignore[arg-type]
            continue
        webhooks += 1
        for event_id in ids:  # type: ignore[attr-defined]
            acked[event_id] = float(at)  # type: ignore[arg-type]
    ms = sorted((t - acked[i]) * 1000 for i, t in received if i in acked)
    return webhooks, ms


def _store_summary(db: Path) -> str:
    """Per bad endpoint: attempts by outcome and deliveries by state (shows the deadline was hit)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        attempts = conn.execute(
            "SELECT d.endpoint, coalesce(a.error, 'ok'), count(*) FROM attempts a "
            "JOIN deliveries d ON d.id = a.delivery_id WHERE d.endpoint != 'ep-healthy' GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
        states = conn.execute(
            "SELECT endpoint, state, count(*) FROM deliveries WHERE endpoint != 'ep-healthy' "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    parts = [f"{ep} attempts {error} {n}" for ep, error, n in attempts]
    parts += [f"{ep} deliveries {state} {n}" for ep, state, n in states]
    return ", ".join(parts) or "-"


def one_run(tmp: Path, sink: bench.Server, bad: bench.Server | None, name: str, args: argparse.Namespace) -> IsoRun:
    workdir = tmp / f"e-{name}"
    db = _write_files(workdir, name, sink, bad, args)
    gateway = start_gateway(workdir, f"gateway-e-{name}")
    try:
        gateway.wait_ready("/readyz", {200})
        sink_reset(sink)
        if bad is not None:
            sink_reset(bad)
        out_file = workdir / "answers.json"
        seconds = args.duration + args.latency_warmup
        cmd = [sys.executable, str(HERE / "fanout_clients.py"), "open"]
        cmd += ["--url", f"http://{HOST}:{gateway.port}/v1/{ORG}/webhooks/shiprocket"]
        cmd += ["--header", f"x-api-key: {SHIPROCKET_TOKEN}", "--rate", str(args.iso_rate)]
        cmd += ["--duration", str(seconds), "--tag", name[:1].upper() + name[-1], "--out", str(out_file)]
        cpu0, busy0 = bench.tree_cpu_seconds(gateway.pid), bench.machine_busy()
        out = json.loads(bench.run_bounded(cmd, timeout=seconds + 40).splitlines()[-1])
        ok = int(out["ok"])
        deadline = time.monotonic() + 30
        while int(sink_stats(sink)["total"]) < ok and time.monotonic() < deadline:  # type: ignore[call-overload]
            time.sleep(0.1)
        cpu1, busy1 = bench.tree_cpu_seconds(gateway.pid), bench.machine_busy()
        _, dump = bench.http_call(sink.port, "GET", "/dump", timeout=30)
        held = sink_stats(bad)["held"] if bad is not None and name.startswith("isolation") else {}
    finally:
        gateway.stop()
    records = json.loads(out_file.read_text())
    first = min((float(r[0]) for r in records), default=0.0)
    webhooks, ms = _join(records, [(str(i), float(t)) for i, t in json.loads(dump)], first + args.latency_warmup)
    run = IsoRun(
        name=name,
        webhooks=webhooks,
        received=len(ms),
        achieved_rate=int(out["requests"]) / float(out["elapsed_s"]),
        p50=report.percentile(ms, 0.50),
        p95=report.percentile(ms, 0.95),
        p99=report.percentile(ms, 0.99),
        gw_cpu_us_per_webhook=(cpu1 - cpu0) / max(1, ok) * 1e6,
        busy_pct=(busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]) * 100,
    )
    run.notes.append(
        f"generator: {out['requests']} sent, {ok} × 200, {out['non200']} other, {out['errors']} errors, "
        f"dispatch lag p99 {out['lag_p99_ms']:.2f} ms"
    )
    if held:
        run.notes.append(
            "bad endpoints: "
            + ", ".join(f"{path} {n} requests held, {gone} given up by the gateway" for path, (n, gone) in held.items())  # type: ignore[attr-defined]
        )
        run.notes.append("store after stop: " + _store_summary(db))
    return run


def phase_isolation(tmp: Path, sink: bench.Server, args: argparse.Namespace) -> list[IsoRun]:
    bad = start_sink(tmp, "sink-bad")
    try:
        runs = []
        for i in range(1, args.iso_runs + 1):
            runs.append(one_run(tmp, sink, None, f"alone{i}", args))
            runs.append(one_run(tmp, sink, bad, f"baseline{i}", args))
            runs.append(one_run(tmp, sink, bad, f"isolation{i}", args))
    finally:
        bad.stop()
    return runs


HEADER = (
    f"{'run':<12} {'webhooks':>8} {'healthy recv':>12} {'rate/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
    f"{'CPU µs/wh':>9} {'box %':>5}"
)


def isolation_lines(runs: list[IsoRun], args: argparse.Namespace) -> list[str]:
    lines = [
        f"(e) isolation at {args.iso_rate:g} webhooks/s, {args.duration:g} s after {args.latency_warmup:g} s warm-up; "
        f"healthy endpoint's received − acknowledged; alone: it is the only endpoint; baseline: two more "
        f"answer 200 at once; isolation: those two are /hang (never answers) and /drip (a byte per 0.2 s); "
        f"delivery timeout {TIMEOUT}, lease {LEASE}",
        HEADER,
        "-" * len(HEADER),
    ]
    for r in runs:
        lines.append(
            f"{r.name:<12} {r.webhooks:>8d} {r.received:>12d} {r.achieved_rate:>7.0f} {r.p50:>7.2f} {r.p95:>7.2f} "
            f"{r.p99:>7.2f} {r.gw_cpu_us_per_webhook:>9.0f} {r.busy_pct:>5.0f}"
        )
        lines.extend(f"    {note}" for note in r.notes)
    return lines


def isolation_verdicts(runs: list[IsoRun], args: argparse.Namespace) -> list[tuple[str, bool]]:
    alone = min(r.p95 for r in runs if r.name.startswith("alone"))
    base = min(r.p95 for r in runs if r.name.startswith("baseline"))
    iso = min(r.p95 for r in runs if r.name.startswith("isolation"))
    ratio = iso / base if base > 0 else float("inf")
    complete = all(r.complete and r.achieved_rate >= 0.95 * args.iso_rate for r in runs)
    return [
        (
            f"(e) healthy p95 with a hanging and a dripping endpoint ≤ {TARGET_P95_RATIO:.2f} × baseline, the "
            f"same endpoints all answering (best of {len(runs) // 3} runs each): {iso:.2f} ms vs {base:.2f} ms, "
            f"ratio {ratio:.3f}, difference {iso - base:+.2f} ms (against the endpoint alone, {alone:.2f} ms: "
            f"ratio {iso / alone if alone > 0 else float('inf'):.3f})",
            ratio <= TARGET_P95_RATIO,
        ),
        (
            "(e) every acknowledged webhook delivered to the healthy endpoint, rate held: "
            + ", ".join(f"{r.received}/{r.webhooks}" for r in runs),
            complete,
        ),
    ]
