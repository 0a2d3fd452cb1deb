"""The checker: what the requests' record and the sink's record say together.

A webhook is named by ``(awb, seq)``. Its request ended ``ok`` (2xx: acknowledged), ``fail``
(4xx, or a connection refused: it definitely never reached the store) or ``unknown`` (timeout,
reset, 5xx: it may or may not have been stored). Per checked endpoint path:

* lost: acknowledged, yet never received;
* unexpected: received, yet never sent, or sent and definitely failed, or received under a
  webhook-id that is not the one its acknowledgement named;
* duplicates: receipts beyond the first of a webhook; each is explained only when its first
  receipt falls in a fault's window (it was in flight when the fault struck, so its outcome
  may not have been recorded), or when the gateway recorded an earlier attempt of it as
  failed (its answer came too late, or not at all: at least once means sending again);
* order violations (ordered paths): a later webhook of a shipment received before the last
  receipt of an earlier one.

Receipts count as deliveries only when the sink meant to answer 2xx (a sink that fails a
first attempt on purpose is not delivering).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

Key = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Request:
    awb: str
    seq: int
    outcome: str  # "ok" | "fail" | "unknown"
    status: int | None
    event_ids: tuple[str, ...]
    error: str | None
    started: float  # time.monotonic()
    ended: float
    retry_after: str | None = None

    @property
    def key(self) -> Key:
        return (self.awb, self.seq)


@dataclass(frozen=True, slots=True)
class Receipt:
    path: str
    webhook_id: str
    key: Key | None  # None: a body the sink could not read a webhook's name from
    at: float  # time.monotonic() once the body was read
    status: int | None  # what the sink meant to answer (None: nothing, a reset or a hang)

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault from ``start`` to ``end`` (monotonic); deliveries first received from
    ``start - before`` to ``end + after`` may have been in flight through it."""

    label: str
    start: float
    end: float
    before: float = 3.0
    after: float = 1.5

    def covers(self, at: float) -> bool:
        return self.start - self.before <= at <= self.end + self.after


@dataclass
class Report:
    acked: int = 0
    failed: int = 0
    unknown: int = 0
    delivered: int = 0
    lost: int = 0
    unexpected: int = 0
    duplicates: int = 0
    unexplained: int = 0
    order_violations: int = 0
    problems: list[str] = field(default_factory=list)
    #: (path, webhook-id) of the unexplained duplicates, to ask the gateway about.
    suspects: list[tuple[str, str]] = field(default_factory=list)

    def problem(self, text: str) -> None:
        if len(self.problems) < 20:  # a sample is enough to debug; the counts say the rest
            self.problems.append(text)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.unexpected or self.unexplained or self.order_violations)


def check(
    requests: Sequence[Request],
    receipts: Sequence[Receipt],
    *,
    paths: Iterable[str],
    ordered: Iterable[str] = (),
    faults: Sequence[Fault] = (),
    failed_before: Collection[tuple[str, str]] = (),
) -> Report:
    """``failed_before``: (path, webhook-id) that the gateway recorded a failed attempt of."""
    report = Report()
    by_key: dict[Key, Request] = {}
    for r in requests:
        if r.key in by_key:
            raise ValueError(f"the workload sent {r.key} twice: every webhook must be unique")
        by_key[r.key] = r
    outcomes = Counter(r.outcome for r in requests)
    report.acked, report.failed, report.unknown = outcomes["ok"], outcomes["fail"], outcomes["unknown"]
    ordered_paths = set(ordered)
    seen_anywhere: set[Key] = set()
    for path in paths:
        mine = [r for r in receipts if r.path == path and r.delivered]
        seen_anywhere |= {r.key for r in mine if r.key is not None}
        explained = {w for p, w in failed_before if p == path}
        _check_path(report, path, by_key, mine, faults, explained, ordered=path in ordered_paths)
    report.delivered = len(seen_anywhere)
    return report


def _check_path(
    report: Report,
    path: str,
    by_key: dict[Key, Request],
    receipts: Sequence[Receipt],
    faults: Sequence[Fault],
    explained: Collection[str],
    *,
    ordered: bool,
) -> None:
    positions: dict[Key, list[int]] = defaultdict(list)
    first_at: dict[Key, float] = {}
    webhook_ids: dict[Key, str] = {}
    for index, receipt in enumerate(receipts):
        key = receipt.key
        sent = by_key.get(key) if key is not None else None
        if key is None or sent is None or sent.outcome == "fail":
            report.unexpected += 1
            report.problem(f"{path}: unexpected {receipt.webhook_id} {key} ({sent.outcome if sent else 'never sent'})")
            continue
        if sent.outcome == "ok" and receipt.webhook_id not in sent.event_ids:
            report.unexpected += 1
            report.problem(f"{path}: {key} arrived as {receipt.webhook_id}, acknowledged as {sent.event_ids}")
            continue
        positions[key].append(index)
        first_at.setdefault(key, receipt.at)
        webhook_ids.setdefault(key, receipt.webhook_id)
    for key, sent in by_key.items():
        if sent.outcome == "ok" and key not in positions:
            report.lost += 1
            report.problem(f"{path}: lost {key} {sent.event_ids}")
    for key, where in positions.items():
        extra = len(where) - 1
        if extra:
            report.duplicates += extra
            if not any(f.covers(first_at[key]) for f in faults) and webhook_ids[key] not in explained:
                report.unexplained += extra
                report.suspects.append((path, webhook_ids[key]))
                report.problem(f"{path}: {key} received {len(where)} times, the first at {first_at[key]:.3f}")
    if ordered:
        _check_order(report, path, positions)


def _check_order(report: Report, path: str, positions: dict[Key, list[int]]) -> None:
    by_awb: dict[str, list[int]] = defaultdict(list)
    for awb, seq in positions:
        by_awb[awb].append(seq)
    for awb, seqs in by_awb.items():
        for earlier, later in itertools.pairwise(sorted(seqs)):
            # The later one's first send must follow the earlier one's last (its final send).
            if positions[(awb, later)][0] < positions[(awb, earlier)][-1]:
                report.order_violations += 1
                report.problem(f"{path}: {awb} #{later} overtook #{earlier}")
