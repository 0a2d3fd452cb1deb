"""A scenario's work directory, sink, processes and faults, and the row of counts it records."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from faultcheck import Fault, Report, Request, check
from faultprocs import endpoint_paths, failed_attempts
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

    async def check(
        self,
        requests: Sequence[Request],
        paths: Iterable[str],
        *,
        gateway: str | None = None,
        routes: Path | None = None,
        note: str = "",
    ) -> Report:
        """Judge, record the row, and assert the set workload's invariants. ``gateway``: a
        live gateway's URL, asked which duplicates followed an attempt it saw fail."""
        endpoints = endpoint_paths(routes or self.workdir / "routes" / "acme.toml")
        ordered = {path for path, is_ordered in endpoints.values() if is_ordered}
        wanted = list(paths)

        def judge(failed: set[tuple[str, str]]) -> Report:
            return check(
                requests,
                self.sink.receipts,
                paths=wanted,
                ordered=ordered,
                faults=self.faults,
                failed_before=failed,
            )

        report = judge(set())
        if report.suspects and gateway is not None:
            seen_failing = await failed_attempts(gateway, {w for _, w in report.suspects})
            report = judge({(endpoints[name][0], event_id) for name, event_id in seen_failing if name in endpoints})
        record(self.nodeid, self.name, time.monotonic() - self.started, report, note)
        assert not self.sink.errors, f"the sink itself failed: {self.sink.errors[:5]}"
        assert report.clean, "\n".join(report.problems)
        return report

    def note(self, report: Report, note: str) -> None:
        """Record a row for a scenario judged by its own assertions (the attacks)."""
        record(self.nodeid, self.name, time.monotonic() - self.started, report, note)
