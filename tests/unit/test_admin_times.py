"""Admin API times without a zone are UTC, whatever the host's zone (recover and search alike)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from gateway.api.admin import utc_epoch
from gateway.api.admin_notifications import parse_time

NEW_YEAR_UTC = datetime(2025, 1, 1, tzinfo=UTC).timestamp()


@pytest.fixture
def host_in_india(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("host_in_india")
def test_a_time_without_a_zone_is_utc_not_the_hosts_local_time() -> None:
    assert datetime(2025, 1, 1).timestamp() != NEW_YEAR_UTC  # the host's zone would differ
    assert utc_epoch(datetime(2025, 1, 1)) == NEW_YEAR_UTC  # the recover window
    assert parse_time("since", "2025-01-01T00:00:00") == NEW_YEAR_UTC  # the notification search
    assert utc_epoch(datetime.fromisoformat("2025-01-01T05:30:00+05:30")) == NEW_YEAR_UTC
