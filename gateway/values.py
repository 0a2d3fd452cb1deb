"""Reading the loose values aggregators send: ids as numbers or strings, sentinels, times.

Every reader here is total: it returns ``None`` for what it cannot read and never raises,
because a surprising field must never reject an event (SPEC §6).
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

#: A time written without an offset is India time (SPEC §6).
IST = timezone(timedelta(hours=5, minutes=30), "IST")

#: Values aggregators use to mean "absent".
SENTINELS: frozenset[str] = frozenset({"", "na", "n/a", "null", "none", "-1", "undefined", "nan"})
_LONGEST_SENTINEL = max(map(len, SENTINELS))


def text(value: Any) -> str | None:
    """An id or label as a trimmed string; numbers keep every digit; sentinels are ``None``.

    Floats are accepted only when integral (``1234.0`` → ``"1234"``): an id is never a float.
    """
    if type(value) is str:  # the common case first: this runs ~15 times per webhook
        s = value.strip()
    elif value is None or isinstance(value, bool):
        return None
    elif isinstance(value, int):
        s = str(value)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        # Past 2**53 a float no longer holds every integer: its digits would be invented.
        if abs(value) > 2**53:
            return None
        s = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, str):
        s = value.strip()
    else:
        return None
    return None if len(s) <= _LONGEST_SENTINEL and s.lower() in SENTINELS else s


def label_words(label: str) -> str:
    """A status label reduced to its words for table lookups: lower case, with ``-``, ``_``,
    ``/`` and ``,`` as spaces and single spaces (``RTO_DELIVERED``, ``Out-for-delivery``)."""
    return " ".join(label.lower().translate(_LABEL_SEPARATORS).split())


_LABEL_SEPARATORS = str.maketrans("-_/,", "    ")


def integer(value: Any) -> int | None:
    """An integer from an int, an integral float or a numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    s = text(value)
    if s is None:
        return None
    try:
        return int(s)
    except ValueError:
        try:
            f = float(s)
        except ValueError:
            return None
        return int(f) if f.is_integer() else None


def flag(value: Any) -> bool:
    """A boolean from ``true``/``1``/``"1"``/``"true"``/``"yes"``; anything else is false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value == 1
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y"}
    return False


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def first_text(obj: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        found = text(obj.get(key))
        if found is not None:
            return found
    return None


_FORMATS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Shiprocket current_timestamp: day first, spaces.
    (re.compile(r"^\d{2} \d{2} \d{4} \d{1,2}:\d{2}:\d{2}$"), "%d %m %Y %H:%M:%S"),
    # Shipway: DD-MM-YYYY HH:MM[:SS]
    (re.compile(r"^\d{2}-\d{2}-\d{4} \d{1,2}:\d{2}$"), "%d-%m-%Y %H:%M"),
    (re.compile(r"^\d{2}-\d{2}-\d{4} \d{1,2}:\d{2}:\d{2}$"), "%d-%m-%Y %H:%M:%S"),
    (re.compile(r"^\d{2}/\d{2}/\d{4} \d{1,2}:\d{2}:\d{2}$"), "%d/%m/%Y %H:%M:%S"),
    (re.compile(r"^\d{2}/\d{2}/\d{4} \d{1,2}:\d{2}$"), "%d/%m/%Y %H:%M"),
    (re.compile(r"^\d{2}-\d{2}-\d{4}$"), "%d-%m-%Y"),
    (re.compile(r"^\d{4}/\d{2}/\d{2} \d{1,2}:\d{2}:\d{2}$"), "%Y/%m/%d %H:%M:%S"),
    (re.compile(r"^\d{4}/\d{2}/\d{2} \d{1,2}:\d{2}$"), "%Y/%m/%d %H:%M"),
    # 12-hour clocks, day first as Indian panels write them: 14-03-2025 09:12 PM
    (re.compile(r"^\d{2}-\d{2}-\d{4} \d{1,2}:\d{2} [AaPp][Mm]$"), "%d-%m-%Y %I:%M %p"),
    (re.compile(r"^\d{2}-\d{2}-\d{4} \d{1,2}:\d{2}[AaPp][Mm]$"), "%d-%m-%Y %I:%M%p"),
    (re.compile(r"^\d{2}-\d{2}-\d{4} \d{1,2}:\d{2}:\d{2} [AaPp][Mm]$"), "%d-%m-%Y %I:%M:%S %p"),
)

# ClickPost's "07/27/2017 5:01 p.m.": month first, 12-hour clock with dotted meridiem.
_US_MERIDIEM = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap])\.?\s*m\.?$", re.IGNORECASE
)


# Unpadded numbers, year first (2025-1-1 9:05:00) or day first as in India (1/1/2025 10:00).
_YEAR_FIRST = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_DAY_FIRST = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
#: Epoch seconds (or milliseconds) with a fraction, as JavaScript and Python relays print them.
_EPOCH_FRACTION = re.compile(r"^\d{9,}\.\d+$")
#: Zone names seen after a time; others (PST, EST, ...) are ambiguous or never sent here.
_ZONE_NAMES: dict[str, timezone] = {"IST": IST, "UTC": UTC, "GMT": UTC}
_MONTH_NAME = re.compile(r"[A-Za-z]{3}")
_WORDY_SEPARATORS = str.maketrans({"-": " ", ",": " "})
#: Layouts with a month name, tried after dashes and commas became spaces (01-Jan-2025 10:00,
#: Jan 01, 2025 10:00 AM, 1 January 2025); English names, as every aggregator writes them.
_WORDY_FORMATS: tuple[str, ...] = tuple(
    f"{date} {clock}".strip()
    for date in ("%d %b %Y", "%b %d %Y", "%d %B %Y", "%B %d %Y")
    for clock in ("%H:%M:%S", "%H:%M", "%I:%M:%S %p", "%I:%M %p", "")
)
#: Year-first dates with a 12-hour clock: 2025-01-01 10:00:00 AM.
_ISO_MERIDIEM_FORMATS: tuple[str, ...] = ("%Y-%m-%d %I:%M:%S %p", "%Y-%m-%d %I:%M %p")


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=IST) if dt.tzinfo is None else dt


def _epoch(value: float) -> datetime | None:
    # Milliseconds are common in JS-built payloads; anything past year ~5000 in seconds is ms.
    if value > 1e11:
        value /= 1000.0
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _fixed_layouts(s: str) -> datetime | None:
    """The layouts aggregators send most, read by position: ``strptime`` and a failed
    ``fromisoformat`` cost microseconds each, and a webhook may carry several times."""
    n = len(s)
    try:
        if n == 19 and s[4] == "-" and s[7] == "-" and s[10] in " T" and s[13] == ":" and s[16] == ":":
            # 2025-03-14 09:12:40 (ISO without offset: India time)
            return datetime(
                int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]), int(s[17:19]), tzinfo=IST
            )
        if n == 19 and s[2] == " " and s[5] == " " and s[10] == " " and s[13] == ":" and s[16] == ":":
            # Shiprocket's day-first 14 03 2025 09:12:40
            return datetime(
                int(s[6:10]), int(s[3:5]), int(s[0:2]), int(s[11:13]), int(s[14:16]), int(s[17:19]), tzinfo=IST
            )
        if n == 16 and s[2] == "-" and s[5] == "-" and s[10] == " " and s[13] == ":":
            # Shipway's day-first 07-02-2025 16:40
            return datetime(int(s[6:10]), int(s[3:5]), int(s[0:2]), int(s[11:13]), int(s[14:16]), tzinfo=IST)
    except ValueError:
        return None  # the right shape, impossible values (month 13): not a time at all
    return None


def timestamp(value: Any) -> datetime | None:
    """An aware datetime from any format SPEC §6 lists, or ``None``.

    Naive times are India time (+05:30). Epoch seconds (or milliseconds) are accepted as
    numbers or digit strings.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        if not value == value or value <= 0 or value > 1e15:  # NaN, negative, or past any real epoch
            return None
        return _epoch(float(value))
    s = text(value)
    if s is None or len(s) > 64:
        return None
    fast = _fixed_layouts(s)
    if fast is not None:
        return fast
    if (s.isdigit() and len(s) >= 9) or _EPOCH_FRACTION.match(s):
        return _epoch(float(s))
    iso = s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s
    try:
        return _aware(datetime.fromisoformat(iso))
    except ValueError:
        pass
    for pattern, fmt in _FORMATS:
        if pattern.match(s):
            try:
                return _aware(datetime.strptime(s, fmt))
            except ValueError:
                return None
    m = _US_MERIDIEM.match(s)
    if m:
        month, day, year, hour, minute, second, meridiem = m.groups()
        h = int(hour) % 12 + (12 if meridiem.lower() == "p" else 0)
        try:
            return datetime(int(year), int(month), int(day), h, int(minute), int(second or 0), tzinfo=IST)
        except ValueError:
            return None
    return _rarer_layouts(s) or _zone_named(s)


def _zone_named(s: str) -> datetime | None:
    """A time followed by a zone name (``2025-03-14 09:12:40 IST``): ClickPost documents its
    times as "IST", and Indian panels print the word after the time."""
    head, _, name = s.rpartition(" ")
    zone = _ZONE_NAMES.get(name.upper())
    if zone is None or not head.strip():
        return None
    read = timestamp(head)
    # Only a time written without an offset takes the name's: "+05:30 IST" says it twice,
    # and a disagreement would have to be guessed at.
    if read is None or read.tzinfo is not IST:
        return None
    return read.replace(tzinfo=zone)


def _rarer_layouts(s: str) -> datetime | None:
    """Layouts seen less often: unpadded numbers, month names, RFC 2822, ISO with AM/PM."""
    for pattern, order in ((_YEAR_FIRST, (0, 1, 2)), (_DAY_FIRST, (2, 1, 0))):
        m = pattern.match(s)
        if m:
            parts = m.groups()
            year, month, day = (int(parts[i]) for i in order)
            try:
                return datetime(
                    year, month, day, int(parts[3] or 0), int(parts[4] or 0), int(parts[5] or 0), tzinfo=IST
                )
            except ValueError:
                return None
    candidates: tuple[str, ...] = _ISO_MERIDIEM_FORMATS
    if _MONTH_NAME.search(s):
        if s[:3].isalpha() and s[3:4] == ",":  # Wed, 01 Jan 2025 10:00:00 GMT
            try:
                return _aware(email.utils.parsedate_to_datetime(s))
            except (TypeError, ValueError, IndexError, OverflowError):
                return None
        s = " ".join(s.translate(_WORDY_SEPARATORS).split())
        candidates = _WORDY_FORMATS
    for fmt in candidates:
        try:
            return _aware(datetime.strptime(s, fmt))
        except ValueError:
            continue
    return None


def epoch_seconds(dt: datetime | None) -> int | None:
    return None if dt is None else int(dt.timestamp())
