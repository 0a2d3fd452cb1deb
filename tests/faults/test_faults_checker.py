"""The checker itself, on records made up to hold each kind of anomaly once."""

from __future__ import annotations

from faultcheck import Fault, Receipt, Request, check


def request(awb: str, seq: int, outcome: str = "ok") -> Request:
    ids = (f"evt_{awb}_{seq}",) if outcome == "ok" else ()
    return Request(awb, seq, outcome, 200 if outcome == "ok" else 503, ids, None, 0.0, 0.1)


def receipt(awb: str, seq: int, at: float, path: str = "/o", status: int | None = 200) -> Receipt:
    return Receipt(path, f"evt_{awb}_{seq}", (awb, seq), at, status)


def test_a_clean_record_is_clean() -> None:
    sent = [request("A", 0), request("A", 1), request("B", 0, "unknown"), request("B", 1, "fail")]
    got = [receipt("A", 0, 1.0), receipt("A", 1, 2.0)]
    report = check(sent, got, paths=["/o"], ordered=["/o"])
    assert report.clean, report.problems
    assert (report.acked, report.failed, report.unknown, report.delivered) == (2, 1, 1, 2)


def test_lost_unexpected_and_wrong_ids_are_counted() -> None:
    sent = [request("A", 0), request("A", 1), request("B", 0, "fail")]
    got = [
        receipt("A", 0, 1.0),
        receipt("B", 0, 2.0),  # definitely failed, yet delivered
        Receipt("/o", "evt_other", ("A", 0), 3.0, 200),  # acknowledged under another id
        Receipt("/o", "evt_x", ("Z", 9), 4.0, 200),  # never sent
    ]
    report = check(sent, got, paths=["/o"])
    assert (report.lost, report.unexpected) == (1, 3), report.problems


def test_duplicates_are_explained_only_by_a_fault_or_a_failed_attempt() -> None:
    sent = [request("A", 0), request("B", 0), request("C", 0)]
    got = [
        receipt("A", 0, 10.0),
        receipt("A", 0, 20.0),  # in flight at the fault at 11.0
        receipt("B", 0, 30.0),
        receipt("B", 0, 31.0),  # the gateway saw its first attempt fail
        receipt("C", 0, 40.0),
        receipt("C", 0, 41.0),  # nothing explains it
    ]
    faults = [Fault("kill", 11.0, 11.0)]
    report = check(sent, got, paths=["/o"], faults=faults, failed_before=[("/o", "evt_B_0")])
    assert (report.duplicates, report.unexplained, report.suspects) == (3, 1, [("/o", "evt_C_0")])


def test_order_is_checked_on_ordered_paths_only_and_receipts_not_taken_do_not_count() -> None:
    sent = [request("A", 0), request("A", 1)]
    overtaken = [receipt("A", 1, 1.0), receipt("A", 0, 2.0)]
    assert check(sent, overtaken, paths=["/o"], ordered=["/o"]).order_violations == 1
    assert check(sent, overtaken, paths=["/o"]).order_violations == 0
    # A refused first try of #0 before #1 is fine: only #0's final send must come before #1.
    retried = [receipt("A", 0, 1.0, status=None), receipt("A", 0, 2.0), receipt("A", 1, 3.0)]
    assert check(sent, retried, paths=["/o"], ordered=["/o"]).clean
