"""The SQLite writer process's wire format: what crosses it arrives unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support import load_fixture, webhook_fixtures

from gateway.inbound.parsers import PARSERS
from gateway.models import InboundEvent, Item, NotificationType, ShipmentType, Source
from gateway.store.base import (
    AttemptRecord,
    ClaimedDelivery,
    Completion,
    CompletionOutcome,
    IngestedEvent,
    IngestJob,
    Verdict,
)
from gateway.store.writer_codec import (
    CLAIM,
    COMPLETE,
    INGEST,
    RELEASE,
    ChildError,
    decode_claim,
    decode_claimed,
    decode_complete,
    decode_completed,
    decode_job,
    decode_outcome,
    decode_release,
    encode_claim,
    encode_claimed,
    encode_complete,
    encode_completed,
    encode_job,
    encode_outcome,
    encode_release,
    frames,
    read_reply,
)


def round_trip(job: IngestJob) -> IngestJob:
    buffer = bytearray(encode_job(job))
    [body] = frames(buffer)
    assert buffer == b"" and body[:1] == INGEST
    return decode_job(memoryview(body)[1:])


def assert_same_job(got: IngestJob, sent: IngestJob) -> None:
    assert got.org == sent.org and got.received_at == sent.received_at
    assert list(got.event_ids) == list(sent.event_ids)
    assert list(got.events) == list(sent.events)
    for a, b in zip(got.events, sent.events, strict=True):
        # Equal datetimes may sit in different zones; the store reads instants only.
        for when_a, when_b in ((a.status_time, b.status_time), (a.return_order_time, b.return_order_time)):
            assert (when_a is None) == (when_b is None)
            if when_a is not None and when_b is not None:
                assert when_a.utcoffset() == when_b.utcoffset()


@pytest.mark.parametrize("name", webhook_fixtures())
def test_every_fixture_events_cross_unchanged(name: str) -> None:
    fixture = load_fixture(name)
    result = PARSERS[Source(fixture["source"])](fixture["body"])
    assert result.events, name
    job = IngestJob(
        org="acme", events=result.events, event_ids=[f"e{i}" for i in range(len(result.events))], received_at=1.5
    )
    assert_same_job(round_trip(job), job)


_text = st.none() | st.text(max_size=12)
_json: Any = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)
_when = st.none() | st.builds(
    lambda seconds, minutes: datetime.fromtimestamp(seconds, UTC).astimezone(timezone(timedelta(minutes=minutes))),
    st.integers(0, 4_000_000_000),
    st.integers(-720, 840),
)
_events = st.builds(
    InboundEvent,
    source=st.sampled_from(Source),
    notification_type=st.sampled_from(NotificationType),
    shipment_type=st.sampled_from(ShipmentType),
    raw_status=_text,
    raw_code=_text,
    status_time=_when,
    status_time_raw=_text,
    awb=_text,
    forward_awb=_text,
    return_awb=_text,
    return_order_id=_text,
    forward_order_code=_text,
    forward_shipment_code=_text,
    courier_name=_text,
    transporter=_text,
    warehouse_code=_text,
    return_order_time=_when,
    items=st.none() | st.lists(st.builds(Item, _text, st.none() | st.integers(0, 10**6), _text), max_size=3).map(tuple),
    aggregator_name=_text,
    aggregator_meta=st.dictionaries(st.text(max_size=6), _json, max_size=3),
    raw=_json,
)


@given(
    org=st.text(min_size=1, max_size=10),
    events=st.lists(_events, min_size=1, max_size=3),
    received_at=st.floats(0, 4e9, allow_nan=False),
)
def test_any_event_crosses_unchanged(org: str, events: list[InboundEvent], received_at: float) -> None:
    job = IngestJob(org=org, events=events, event_ids=[f"evt_{i}" for i in range(len(events))], received_at=received_at)
    assert_same_job(round_trip(job), job)


def test_frames_wait_for_the_rest_of_a_frame() -> None:
    one = encode_job(IngestJob(org="a", events=[], event_ids=[], received_at=1.0))
    two = encode_job(IngestJob(org="b", events=[], event_ids=[], received_at=2.0))
    data = one + two
    buffer = bytearray()
    got: list[bytes] = []
    for i in range(len(data)):  # a byte at a time: every split point
        buffer += data[i : i + 1]
        got.extend(frames(buffer))
    assert [decode_job(memoryview(b)[1:]).org for b in got] == ["a", "b"]
    assert buffer == b""


def answers(data: bytes) -> list[bytes]:
    buffer = bytearray(data)
    got = list(frames(buffer))
    assert buffer == b""
    return got


def test_ingest_answers_keep_results_and_errors() -> None:
    results = [IngestedEvent("evt_1", False, 7, False, 2), IngestedEvent("evt_0", True, 7, True, 0)]
    first, failed, empty = answers(
        encode_outcome(results) + encode_outcome(ValueError("disk I/O error")) + encode_outcome([])
    )
    assert decode_outcome(read_reply(first)) == results
    with pytest.raises(ChildError, match="disk I/O error"):
        read_reply(failed)
    assert decode_outcome(read_reply(empty)) == []


def request(data: bytes, kind: bytes) -> memoryview:
    [body] = answers(data)
    assert body[:1] == kind
    return memoryview(body)[1:]


def test_a_claim_crosses_both_ways_with_its_bodies_as_bytes() -> None:
    free = {("acme", "oms"): 3, ("beta", "wms"): 64}
    assert decode_claim(request(encode_claim(12.5, free, 30.0), CLAIM)) == (12.5, free, 30.0)
    claimed = [
        ClaimedDelivery(1, "evt_a", "acme", "oms", "notification", 1, "tok", b'{"eventId":"evt_a"}', 11.0),
        # Bodies are opaque bytes: not JSON, not UTF-8, empty.
        ClaimedDelivery(2, "evt_b", "acme", "oms", "returns", 3, "tok", b"\xff\x00\x1f raw", None),
        ClaimedDelivery(3, "evt_c", "beta", "wms", "notification", 2, "tok", b"", 12.0),
    ]
    [answer] = answers(encode_claimed(claimed))
    assert decode_claimed(read_reply(answer)) == claimed
    [none] = answers(encode_claimed([]))
    assert decode_claimed(read_reply(none)) == []


@given(
    st.lists(
        st.builds(
            Completion,
            delivery_id=st.integers(1, 2**62),
            lease_token=st.text(max_size=32),
            org=st.text(max_size=10),
            endpoint=st.text(max_size=10),
            verdict=st.sampled_from(Verdict),
            attempt=st.builds(
                AttemptRecord,
                at=st.floats(0, 4e9),
                status_code=st.none() | st.integers(100, 599),
                duration_ms=st.floats(0, 1e6),
                error=_text,
                response_excerpt=_text,
            ),
            next_attempt_at=st.none() | st.floats(0, 4e9),
            disable_after=st.none() | st.floats(0, 1e7),
        ),
        max_size=4,
    ),
    st.floats(0, 4e9),
)
def test_completions_cross_unchanged(completions: list[Completion], now: float) -> None:
    assert decode_complete(request(encode_complete(completions, now), COMPLETE)) == (completions, now)


def test_completion_outcomes_and_releases_cross_unchanged() -> None:
    outcomes = [CompletionOutcome(True), CompletionOutcome(False), CompletionOutcome(True, "oms")]
    [answer] = answers(encode_completed(outcomes))
    assert decode_completed(read_reply(answer)) == outcomes
    leases = [(1, "tok-a"), (2**62, "tok-b")]
    assert decode_release(request(encode_release(leases), RELEASE)) == leases
