"""The field-limit table and its control-character rule: what each kind refuses, that every
field of a notification is held to it, and that each parser's refusal names the body field."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from support import load_fixture

from gateway.errors import Unprocessable
from gateway.field_limits import (
    FIELD_LIMITS,
    IDENTIFIER,
    TEXT,
    FieldLimit,
    Identifier,
    Text,
    event_problems,
)
from gateway.inbound import parsers
from gateway.inbound.parsers import PARSERS, body_path
from gateway.models import InboundEvent, Item, NotificationType, ShipmentType, Source

CONTROLS = [chr(c) for c in range(0x110) if unicodedata.category(chr(c)) == "Cc"]
#: Printable or not, none of these is a control character: both kinds take them.
FRIENDLY = ["é", "₹", "Дели", "中文", "🙂", "\u00a0", "\u200b", "\u2028", "a b"]

EVENT = InboundEvent(
    source=Source.MAGIC,
    notification_type=NotificationType.IN_TRANSIT,
    shipment_type=ShipmentType.RETURN,
    raw_status="IN_TRANSIT",
    raw_code="IN_TRANSIT",
    status_time=None,
    status_time_raw="2025-03-14 09:12:40",
    awb="R-1",
    forward_awb="F-1",
    return_awb="R-1",
    return_order_id="RO-1",
    forward_order_code="FO-1",
    forward_shipment_code="FS-1",
    courier_name="Delhivery Surface",
    transporter="Delhivery",
    warehouse_code="WH-1",
    items=(Item(sku="SKU-1", quantity=1, item_id="I-1"),),
    aggregator_name="NARVAR",
    aggregator_meta={"remark": "left at the gate", "event_id": 16},
)
#: The table's name for each InboundEvent attribute (the items and meta are checked apart).
ATTRIBUTES = {
    "awb": "awb",
    "forwardAwb": "forward_awb",
    "returnAwb": "return_awb",
    "returnOrderId": "return_order_id",
    "forwardOrderCode": "forward_order_code",
    "forwardShipmentCode": "forward_shipment_code",
    "courierName": "courier_name",
    "transporter": "transporter",
    "warehouseCode": "warehouse_code",
    "logisticAggregatorName": "aggregator_name",
    "statusTime": "status_time_raw",
    "rawStatus": "raw_status",
    "rawCode": "raw_code",
}


def test_the_table_holds_identifiers_to_128_characters_and_texts_to_2000() -> None:
    assert IDENTIFIER.max_chars == 128 and TEXT.max_chars == 2000
    assert {name for name, limit in FIELD_LIMITS.items() if limit is TEXT} == {
        "rawStatus",
        "rawCode",
        "logisticAggregatorMetaData",
    }
    assert set(FIELD_LIMITS) == {*ATTRIBUTES, "items.sku", "items.itemId", "logisticAggregatorMetaData"}


@pytest.mark.parametrize("limit", [IDENTIFIER, TEXT], ids=["identifier", "text"])
def test_a_value_fits_up_to_its_length_and_not_one_character_more(limit: FieldLimit) -> None:
    assert limit.problem("x" * limit.max_chars) is None
    problem = limit.problem("x" * (limit.max_chars + 1))
    assert problem is not None and problem.startswith(f"is {limit.max_chars + 1} characters long")


@pytest.mark.parametrize("char", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_an_identifier_refuses_every_control_character(char: str) -> None:
    assert IDENTIFIER.problem(f"AWB{char}1") == f"contains control character U+{ord(char):04X}; {IDENTIFIER.rule}"


@pytest.mark.parametrize("char", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_a_text_refuses_every_control_character_but_tab_line_feed_and_carriage_return(char: str) -> None:
    problem = TEXT.problem(f"left at{char}the gate")
    assert (problem is None) == (char in "\t\n\r")


@pytest.mark.parametrize("value", FRIENDLY)
def test_letters_of_any_script_and_unicode_spaces_are_no_control_characters(value: str) -> None:
    assert IDENTIFIER.problem(value) is None and TEXT.problem(value) is None


@pytest.mark.parametrize("limit", [IDENTIFIER, TEXT], ids=["identifier", "text"])
def test_the_published_pattern_refuses_exactly_what_the_rule_refuses(limit: FieldLimit) -> None:
    pattern = re.compile(limit.pattern)
    for code in range(0x300):
        char = chr(code)
        assert (pattern.fullmatch(f"a{char}b") is not None) == limit.fits(f"a{char}b"), hex(code)


class Body(BaseModel):
    code: Identifier
    reason: Text | None = None


def test_the_annotated_types_refuse_with_the_rule_and_publish_it() -> None:
    assert Body.model_validate({"code": "A-1", "reason": "two\nlines"}).reason == "two\nlines"
    with pytest.raises(ValidationError) as caught:
        Body.model_validate({"code": "A\x001", "reason": "r" * 2001})
    errors = {e["loc"]: e["msg"] for e in caught.value.errors()}
    assert errors == {
        ("code",): f"contains control character U+0000; {IDENTIFIER.rule}",
        ("reason",): f"is 2001 characters long; {TEXT.rule}",
    }
    schema = Body.model_json_schema()["properties"]
    assert schema["code"]["maxLength"] == 128 and schema["code"]["pattern"] == IDENTIFIER.pattern


def test_a_notification_within_its_limits_has_no_problem() -> None:
    assert event_problems(EVENT) == []


@pytest.mark.parametrize("name", sorted(ATTRIBUTES))
def test_every_field_of_a_notification_is_held_to_its_limit(name: str) -> None:
    limit = FIELD_LIMITS[name]
    for bad in ("x\x00y", "x" * (limit.max_chars + 1)):
        problems = event_problems(replace(EVENT, **{ATTRIBUTES[name]: bad}))
        assert [(p.field, p.value) for p in problems] == [(name, bad)]


def test_items_and_every_text_value_of_the_metadata_are_held_too() -> None:
    items = (Item(sku="S\x1b", quantity=1, item_id="I" * 129),)
    problems = event_problems(replace(EVENT, items=items, aggregator_meta={"remark": "\x00", "n": 5}))
    assert [p.field for p in problems] == ["items.sku", "items.itemId", "logisticAggregatorMetaData.remark"]


def refusal(source: Source, body: Any) -> Unprocessable:
    with pytest.raises(Unprocessable) as caught:
        PARSERS[source](body)
    return caught.value


def test_a_shiprocket_refusal_names_the_body_field_and_never_echoes_the_value() -> None:
    body = load_fixture("webhooks/shiprocket-in-transit.json")["body"]
    exc = refusal(Source.SHIPROCKET, {**body, "awb": "5981\x00", "shipment_status": "S" * 2001})
    assert exc.errors == [
        {"field": "awb", "message": f"contains control character U+0000; {IDENTIFIER.rule}"},
        {"field": "shipment_status", "message": f"is 2001 characters long; {TEXT.rule}"},
    ]
    assert exc.detail == f"awb contains control character U+0000; {IDENTIFIER.rule} (and 1 more)"


def test_a_shipway_batch_refusal_names_the_entry() -> None:
    body = load_fixture("webhooks/shipway-batch.json")["body"]
    body["status_feed"][1]["awbno"] = "2" * 129
    assert refusal(Source.SHIPWAY, body).errors[0]["field"] == "status_feed[1].awbno"


def test_a_clickpost_refusal_names_the_nested_field() -> None:
    body = load_fixture("webhooks/clickpost-out-for-delivery.json")["body"]
    body["additional"]["courier_partner_name"] = "Blue\x07Dart"
    assert refusal(Source.CLICKPOST, body).errors[0]["field"] == "additional.courier_partner_name"


def test_a_magic_refusal_names_the_item() -> None:
    body = load_fixture("webhooks/magic-forward.json")["body"]
    body["items"][0]["sku"] = " SKU\x7f "
    assert refusal(Source.MAGIC, body).errors[0]["field"] == "items[0].sku"


def test_values_the_parser_does_not_read_are_kept_as_sent() -> None:
    body = load_fixture("webhooks/shiprocket-in-transit.json")["body"]
    body = {**body, "remarks": "x\x00" * 1000, "scans": [{**body["scans"][0], "location": "\x00"}]}
    (event,) = PARSERS[Source.SHIPROCKET](body).events
    assert event.raw["remarks"] == "x\x00" * 1000


def test_the_field_search_gives_up_within_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers, "_PATH_SEARCH_BUDGET", 50)
    body = {"pad": [[i] for i in range(100)], "deep": {"awb": "A\x00"}}
    assert body_path(body, "A\x00") is None
    assert body_path({"deep": {"awb": "A\x00"}}, "A\x00") == "deep.awb"
