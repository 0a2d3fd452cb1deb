"""A scenario's work directory, sink, processes and faults, and the row of counts it records."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from faultcheck import Fault, Receipt, Report, Request, check
from faultprocs import ordered_paths
from faultreport import record
from faultsink import FaultSink
from procs import GatewayProcess


class Scenario:
    """One scenario's work directory, sink, processes and faults, and its row of counts."""

    def __init__(self, nodeid: str, name: str, workdir: Path, sink: FaultSink) -> None:
        self.nodeid = nodeid
        self.name = name
        self.workdir = workdir
        self.sink = sink
        self.faults: list[Fault] = []
        self.processes: list[GatewayProcess] = []
        self.started = time.monotonic()

    def keep(self, proc: GatewayProcess) -> GatewayProcess:
        """Stop ``proc`` (SIGKILL to its group) when the scenario ends, whatever happens."""
        self.processes.append(proc)
        return proc

    def fault(
        self, label: str, start: float, end: float | None = None, *, before: float = 3.0, after: float = 1.5
    ) -> None:
        self.faults.append(Fault(label, start, start if end is None else end, before, after))

    def check(
        self,
        requests: Sequence[Request],
        paths: Iterable[str],
        *,
        routes: Path | None = None,
        receipts: Sequence[Receipt] | None = None,
        note: str = "",
    ) -> Report:
        """Judge, record the row, and assert the set workload's invariants."""
        ordered = ordered_paths(routes or self.workdir / "routes" / "acme.toml")
        report = check(
            requests,
            self.sink.receipts if receipts is None else receipts,
            paths=paths,
            ordered=ordered,
            faults=self.faults,
        )
        record(self.nodeid, self.name, time.monotonic() - self.started, report, note)
        assert not self.sink.errors, f"the sink itself failed: {self.sink.errors[:5]}"
        assert report.clean, "\n".join(report.problems)
        return report

    def note(self, report: Report, note: str) -> None:
        """Record a row for a scenario judged by its own assertions (the attacks)."""
        record(self.nodeid, self.name, time.monotonic() - self.started, report, note)
