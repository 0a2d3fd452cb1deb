"""One row of counts per scenario, printed as each scenario ends and as a table at the end of
the run (``conftest.pytest_terminal_summary``)."""

from __future__ import annotations

from dataclasses import dataclass

from faultcheck import Report


@dataclass
class Row:
    nodeid: str
    scenario: str
    seconds: float
    report: Report
    note: str = ""
    outcome: str = "?"


ROWS: list[Row] = []
COLUMNS = ("scenario", "result", "secs", "acked", "failed", "unknown", "delivered", "lost", "unexp", "dups", "order")


def record(nodeid: str, scenario: str, seconds: float, report: Report, note: str = "") -> Row:
    row = Row(nodeid, scenario, seconds, report, note)
    ROWS.append(row)
    print(" | ".join(cells(row)), "|", note)  # shown with the test's output when it fails
    return row


def cells(row: Row) -> list[str]:
    r = row.report
    # Duplicates as "all (unexplained)": only those of deliveries in flight at a fault are allowed.
    dups = f"{r.duplicates}" + (f" ({r.unexplained}!)" if r.unexplained else "")
    return [
        row.scenario,
        row.outcome,
        f"{row.seconds:.1f}",
        *(str(v) for v in (r.acked, r.failed, r.unknown, r.delivered, r.lost, r.unexpected)),
        dups,
        str(r.order_violations),
    ]


def table(rows: list[Row]) -> list[str]:
    body = [cells(row) for row in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)) + "  note"]
    for row, line in zip(rows, body, strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + f"  {row.note}")
    return lines
