"""Figures and verdicts of the fan-out bench: drain rows, the latency join, PASS/FAIL lines."""

from __future__ import annotations

from dataclasses import dataclass, field

TARGET_RATIO = 0.50
TARGET_P50_MS = 15.0
TARGET_P99_MS = 100.0
TARGET_BACKLOG_RATIO = 0.80


@dataclass
class Drain:
    """One measured run of deliveries (the raw loop or a gateway draining a backlog)."""

    name: str
    deliveries: int
    seconds: float
    gw_cpu_us: float | None  # client CPU for the raw loop, gateway process tree otherwise
    sink_cpu_us: float
    busy_pct: float
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Latency:
    webhooks: int  # acknowledged webhooks counted (after the warm-up)
    expected: int  # deliveries those should produce
    received: int  # deliveries of those the sink saw
    achieved_rate: float
    ms: dict[str, tuple[float, float, float]]  # measure → (p50, p99, max) in ms
    gw_cpu_us_per_webhook: float
    notes: list[str] = field(default_factory=list)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


def join_latency(
    records: list[list[object]],
    received: list[tuple[str, float]],
    accepted_at: dict[str, float],
    skip_before: float,
) -> tuple[dict[str, tuple[float, float, float]], int, int, int]:
    """Join the generator's answers with the sink's receive times by event id.

    Returns the percentiles per measure, the webhooks counted, the deliveries expected of them
    (``fanout`` each, filled in by the caller) as a count of event ids, and the deliveries seen.
    """
    sent: dict[str, tuple[float, float]] = {}
    webhooks = 0
    for scheduled, sent_at, acked, status, ids in records:
        if status != 200 or float(scheduled) < skip_before:  # type: ignore[arg-type]
            continue
        webhooks += 1
        for event_id in ids:  # type: ignore[attr-defined]
            sent[event_id] = (float(sent_at), float(acked))  # type: ignore[arg-type]
    series: dict[str, list[float]] = {"received − acknowledged": [], "received − sent": [], "received − accepted": []}
    seen = 0
    for event_id, at in received:
        times = sent.get(event_id)
        if times is None:
            continue
        seen += 1
        series["received − acknowledged"].append((at - times[1]) * 1000)
        series["received − sent"].append((at - times[0]) * 1000)
        if event_id in accepted_at:
            series["received − accepted"].append((at - accepted_at[event_id]) * 1000)
    out = {}
    for name, values in series.items():
        values.sort()
        out[name] = (percentile(values, 0.50), percentile(values, 0.99), values[-1] if values else float("nan"))
    return out, webhooks, len(sent), seen


HEADER = (
    f"{'run':<34} {'deliveries':>10} {'seconds':>8} {'deliv/s':>9} {'CPU µs/deliv':>12} {'sink µs':>8} {'box %':>6}"
)


def drain_table(rows: list[Drain]) -> list[str]:
    lines = [HEADER, "-" * len(HEADER)]
    for r in rows:
        cpu = f"{r.gw_cpu_us:>12.1f}" if r.gw_cpu_us is not None else f"{'-':>12}"
        lines.append(
            f"{r.name:<34} {r.deliveries:>10d} {r.seconds:>8.2f} {r.rate:>9.0f} {cpu} {r.sink_cpu_us:>8.1f} "
            f"{r.busy_pct:>6.0f}"
        )
        lines.extend(f"    {note}" for note in r.notes)
    return lines


def latency_lines(lat: Latency, rate: float, fanout: int) -> list[str]:
    lines = [
        f"end-to-end at {rate:g} webhooks/s (achieved {lat.achieved_rate:.0f}/s), fan-out {fanout}: "
        f"{lat.webhooks} webhooks after the warm-up, {lat.received}/{lat.expected} deliveries received; "
        f"gateway CPU {lat.gw_cpu_us_per_webhook:.0f} µs per webhook (ingest + {fanout} deliveries)",
        f"    {'measure':<26} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}",
    ]
    for name, (p50, p99, worst) in lat.ms.items():
        lines.append(f"    {name:<26} {p50:>8.2f} {p99:>8.2f} {worst:>8.2f}")
    lines.extend(f"    {note}" for note in lat.notes)
    return lines


def verdicts(drains: dict[str, Drain], lat: Latency | None, rate: float, fanout: int) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    raw = drains.get("raw")
    for key in ("b1", "b4"):
        gw = drains.get(key)
        if raw is not None and gw is not None:
            ratio = gw.rate / raw.rate if raw.rate else 0.0
            out.append(
                (
                    f"{gw.name}: delivery rate ≥ {TARGET_RATIO:.0%} of the raw aiohttp loop's: ratio {ratio:.3f}",
                    ratio >= TARGET_RATIO,
                )
            )
    small, big = drains.get("c-small"), drains.get("c-big")
    if small is not None and big is not None:
        ratio = big.rate / small.rate if small.rate else 0.0
        cpu = (small.gw_cpu_us or 0) / (big.gw_cpu_us or 1)  # less noisy on a shared box than the rates
        out.append(
            (
                f"a big backlog drains at ≥ {TARGET_BACKLOG_RATIO:.0%} of the rate with an empty table: ratio "
                f"{ratio:.3f} (inverse CPU µs/delivery ratio {cpu:.3f})",
                ratio >= TARGET_BACKLOG_RATIO,
            )
        )
    if lat is not None:
        p50, p99, _ = lat.ms["received − acknowledged"]
        complete = lat.received == lat.expected and lat.achieved_rate >= 0.95 * rate
        out.append(
            (
                f"end-to-end p50 ≤ {TARGET_P50_MS:g} ms at {rate:g}/s, fan-out {fanout}: {p50:.2f} ms",
                p50 <= TARGET_P50_MS,
            )
        )
        out.append(
            (
                f"end-to-end p99 ≤ {TARGET_P99_MS:g} ms at {rate:g}/s, fan-out {fanout}: {p99:.2f} ms",
                p99 <= TARGET_P99_MS,
            )
        )
        out.append(
            (
                f"every acknowledged webhook delivered to every endpoint, rate held: {lat.received}/{lat.expected}, "
                f"{lat.achieved_rate:.0f}/s",
                complete,
            )
        )
    return out
