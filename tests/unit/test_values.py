"""The loose-value readers every parser relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.values import IST, integer, text, timestamp

UTC_TIME = datetime(2025, 3, 14, 3, 42, 40, tzinfo=UTC)  # = 09:12:40 in India


@pytest.mark.parametrize(
    "raw",
    [
        "14 03 2025 09:12:40",  # Shiprocket, day first
        "2025-03-14 09:12:40",  # naive: India time
        "2025-03-14T09:12:40",
        "2025-03-14T09:12:40+05:30",
        "2025-03-14T03:42:40Z",
        "2025-03-14T03:42:40.000Z",
        "14/03/2025 09:12:40",
        1741923760,
        "1741923760",
        1741923760000,
    ],
)
def test_every_layout_reads_the_same_instant(raw: object) -> None:
    assert timestamp(raw) == UTC_TIME


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025/03/14 09:12:40", datetime(2025, 3, 14, 9, 12, 40, tzinfo=IST)),
        ("2025/03/14 09:12", datetime(2025, 3, 14, 9, 12, tzinfo=IST)),
        ("14-03-2025 09:12 PM", datetime(2025, 3, 14, 21, 12, tzinfo=IST)),
        ("14-03-2025 09:12pm", datetime(2025, 3, 14, 21, 12, tzinfo=IST)),
        ("14-03-2025 12:05:09 AM", datetime(2025, 3, 14, 0, 5, 9, tzinfo=IST)),
    ],
)
def test_slash_and_twelve_hour_layouts(raw: str, expected: datetime) -> None:
    assert timestamp(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("14 Mar 2025 09:12:40", datetime(2025, 3, 14, 9, 12, 40, tzinfo=IST)),
        ("14-Mar-2025 09:12", datetime(2025, 3, 14, 9, 12, tzinfo=IST)),
        ("Mar 14, 2025 09:12 PM", datetime(2025, 3, 14, 21, 12, tzinfo=IST)),
        ("14 March 2025", datetime(2025, 3, 14, tzinfo=IST)),
        ("Fri, 14 Mar 2025 03:42:40 GMT", UTC_TIME),
        ("2025-03-14 09:12:40 PM", datetime(2025, 3, 14, 21, 12, 40, tzinfo=IST)),
        ("2025-3-4 9:05:00", datetime(2025, 3, 4, 9, 5, tzinfo=IST)),
        ("4/3/2025 9:05", datetime(2025, 3, 4, 9, 5, tzinfo=IST)),  # day first, as in India
        ("4.3.2025", datetime(2025, 3, 4, tzinfo=IST)),
    ],
)
def test_rarer_layouts_month_names_rfc2822_and_unpadded_numbers(raw: str, expected: datetime) -> None:
    assert timestamp(raw) == expected


@pytest.mark.parametrize(
    "raw", ["31-02-2025", "2025-13-01 10:00:00 AM", "14-Foo-2025 09:12", "Mon, 99 Foo 2025", "Jan"]
)
def test_rarer_layouts_with_impossible_values_are_none(raw: str) -> None:
    assert timestamp(raw) is None


def test_day_first_dash_layout_without_seconds() -> None:
    assert timestamp("07-02-2025 16:40") == datetime(2025, 2, 7, 16, 40, tzinfo=IST)


def test_clickpost_meridiem_layout_is_month_first() -> None:
    assert timestamp("07/27/2017 5:01 p.m.") == datetime(2017, 7, 27, 17, 1, tzinfo=IST)


def test_offsets_are_kept() -> None:
    read = timestamp("2025-03-14T09:12:40-04:00")
    assert read is not None and read.utcoffset() == timedelta(hours=-4)
    assert read == datetime(2025, 3, 14, 9, 12, 40, tzinfo=timezone(timedelta(hours=-4)))


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "NA",
        "garbage",
        "2025-02-30 10:00:00",
        "31 13 2025 09:12:40",
        "99-99-2025 10:00",
        None,
        True,
        -5,
        10**400,
        float("nan"),
        "x" * 100,
        {"date": 1},
    ],
)
def test_unreadable_times_are_none_never_an_error(raw: object) -> None:
    assert timestamp(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" AWB1 ", "AWB1"),
        (59810022317645, "59810022317645"),
        (1234.0, "1234"),
        ("NA", None),
        ("", None),
        ("-1", None),
        (-1, None),
        (None, None),
        (True, None),
        (2.0**60, None),
        ("null", None),
        ("N/A", None),
    ],
)
def test_text_reads_ids_exactly_and_sentinels_as_absent(raw: object, expected: str | None) -> None:
    assert text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [("18", 18), (18, 18), (18.0, 18), ("18.5", None), ("x", None), (True, None), (None, None)]
)
def test_integer(raw: object, expected: int | None) -> None:
    assert integer(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-03-14 09:12:40 IST", datetime(2025, 3, 14, 9, 12, 40, tzinfo=IST)),
        ("14 03 2025 09:12:40 IST", datetime(2025, 3, 14, 9, 12, 40, tzinfo=IST)),
        ("2025-03-14T09:12:40.000 ist", datetime(2025, 3, 14, 9, 12, 40, tzinfo=IST)),
        ("2025-03-14 03:42:40 UTC", UTC_TIME),
        ("14-Mar-2025 03:42:40 GMT", UTC_TIME),
    ],
)
def test_a_trailing_zone_name_is_read(raw: str, expected: datetime) -> None:
    assert timestamp(raw) == expected


@pytest.mark.parametrize("raw", ["2025-03-14 09:12:40 PST", "IST", " IST", "2025-03-14T09:12:40+05:30 IST"])
def test_other_or_contradicting_zone_names_are_not_guessed(raw: str) -> None:
    assert timestamp(raw) is None


def test_epoch_seconds_with_a_fraction_as_text() -> None:
    assert timestamp("1741923760.25") == UTC_TIME + timedelta(seconds=0.25)
    assert timestamp("1741923760000.0") == UTC_TIME
