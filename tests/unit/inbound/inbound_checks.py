"""What every parser's tests check the same way: the sample webhooks and one-event bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support import FIXTURES, fixture_names, fixture_path

from gateway.inbound.base import ParseResult
from gateway.models import InboundEvent, Source
from gateway.values import epoch_seconds

#: The repository's samples (``support.fixture_names`` adds the shared folder's).
WEBHOOK_FIXTURES = FIXTURES / "webhooks"


def fixture_files(source: Source) -> list[Path]:
    return [fixture_path(name) for name in fixture_names("webhooks", f"{source.value}-*.json")]


def only_event(parse: Callable[[Any], ParseResult], payload: Any) -> InboundEvent:
    result = parse(payload)
    assert isinstance(result, ParseResult) and not result.ping
    assert len(result.events) == 1
    return result.events[0]


def parse_fixture(
    parse: Callable[[Any], ParseResult], source: Source, path: Path
) -> list[tuple[InboundEvent, dict[str, Any]]]:
    """Each event of the fixture beside its ``expect`` entry, after the checks every source
    shares (type, shipment type, and whichever of the AWBs and the time it names)."""
    fixture = json.loads(path.read_text())
    events = parse(fixture["body"]).events
    assert len(events) == len(fixture["expect"])
    pairs = list(zip(events, fixture["expect"], strict=True))
    for event, expect in pairs:
        assert event.source is source
        assert event.notification_type == expect["notificationType"]
        assert event.shipment_type == expect["shipmentType"]
        if "awb" in expect:
            assert event.awb == expect["awb"]
        if "forwardAwb" in expect:
            assert event.forward_awb == expect["forwardAwb"]
        if "returnAwb" in expect:
            assert event.return_awb == expect["returnAwb"]
        if "notificationUpdateTime" in expect:
            assert epoch_seconds(event.status_time) == expect["notificationUpdateTime"]
    return pairs
