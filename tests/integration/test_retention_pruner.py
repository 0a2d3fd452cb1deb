"""The pruner removes what retention allows, a batch at a time, on the app's clock."""

from __future__ import annotations

from typing import Any

import pytest
from support import Gateway

from gateway import retention
from gateway.clock import ManualClock


def sr(awb: str) -> dict[str, Any]:
    return {
        "awb": awb,
        "shipment_status_id": 18,
        "shipment_status": "IN TRANSIT",
        "current_timestamp": "14 03 2025 09:00:00",
    }


async def test_prune_once_takes_old_delivered_data_in_batches(
    gateway: Gateway, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)
    # Org "beta" has no endpoints: nothing is owed, so everything may go once old enough.
    event_ids = [(await gateway.webhook("beta", "shiprocket", sr(f"P{i}"))).json()["eventIds"][0] for i in range(5)]
    pruner = retention.Pruner(gateway.state.store, clock, retention=30 * 86400)
    assert await pruner.prune_once() == 0  # not old yet
    clock.advance(30 * 86400 + 1)
    assert await pruner.prune_once() == 5
    for event_id in event_ids:
        assert await gateway.state.store.notification(event_id) is None
