"""The fault suite: the real ``gateway serve`` under crashes, storage faults, bad endpoints,
clock steps and attacks, judged the way Jepsen's set workload judges a database.

Workload (``faultload.py``): shipments send their updates in order, one at a time; every
webhook is unique (its AWB and seq), is sent once, and its request is recorded as ``ok``
(2xx: acknowledged), ``fail`` (4xx or refused: never stored) or ``unknown`` (timeout, reset,
5xx: stored or not, no one can say).

Sink (``faultsink.py``): endpoints on 127.0.0.1 that record every delivery (webhook-id, the
webhook it carries, when) and answer well, slowly, or badly, per path.

Checker (``faultcheck.py``): once the faults have healed and the outbox has drained, per
endpoint that should have everything: lost = 0 (acknowledged, never delivered), unexpected
= 0 (delivered, never sent or definitely failed), duplicates only of deliveries in flight at
a fault, and per-shipment order kept on ordered endpoints. Each scenario records one row of
counts; the table is printed at the end of the run, under ``-q`` too.

Bounded: every phase has a deadline and every loop a count; the whole suite stops by itself.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest
from _pytest.terminal import TerminalReporter

TESTS = Path(__file__).resolve().parents[1]
# The acceptance tier's process helpers and the bench's load generator, imported, not copied
# (pytest puts a directory on sys.path only when it collects there; bench is never collected).
for _extra in (TESTS / "acceptance", TESTS / "bench"):
    if str(_extra) not in sys.path:
        sys.path.append(str(_extra))

from faultreport import ROWS, table  # noqa: E402
from faultscenario import Scenario  # noqa: E402
from faultsink import FaultSink  # noqa: E402
from sinks import SinkFactory  # noqa: E402

_OUTCOMES: dict[str, str] = {}


@pytest.fixture
async def scenario(request: pytest.FixtureRequest, tmp_path: Path, make_sink: SinkFactory) -> AsyncIterator[Scenario]:
    name = request.node.name.removeprefix("test_")
    sink = FaultSink(await make_sink())
    scene = Scenario(request.node.nodeid, name, tmp_path, sink)
    try:
        yield scene
    finally:
        for proc in scene.processes:
            proc.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        if hasattr(report, "wasxfail"):
            _OUTCOMES[item.nodeid] = "xpass" if report.outcome == "passed" else "xfail"
        else:
            _OUTCOMES[item.nodeid] = "FAILED" if report.outcome == "failed" else report.outcome


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    if not ROWS:
        return
    for row in ROWS:
        row.outcome = _OUTCOMES.get(row.nodeid, "?")
    terminalreporter.section("fault suite: set workload counts per scenario")
    for line in table(ROWS):
        terminalreporter.write_line(line)
