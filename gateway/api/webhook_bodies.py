"""The webhook bodies ``/openapi.json`` publishes, one per source: what the parsers accept.

``gateway.inbound.payloads`` describes each aggregator's fields; the parsers read them
loosely (ids as strings or numbers, sentinels such as ``"NA"``, fallbacks between fields)
and refuse only a body that names no shipment, or whose values break the field limits
(``gateway.field_limits``) once read. The schemas say that for the fields the aggregators
document, in the parsers' own order of reading: a limit holds for the value the parser
takes, not for a field it skips because an earlier one already answered. Other spellings
the parsers also fall back on are named in each body's description: as alternatives in
the schema they would multiply its branches past what generators can draw from. Every
field is otherwise any JSON value. The field tables are the parsers' own (some private),
so the schemas cannot drift from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from gateway.api.text_values import READABLE, UNREADABLE, WS, any_case, besides, exactly
from gateway.field_limits import IDENTIFIER, TEXT, FieldLimit
from gateway.inbound import magic, shiprocket, shipway
from gateway.inbound.payloads import PAYLOADS
from gateway.models import Source
from gateway.openapi_edge import JSON_VALUE_REF, component

Schema = dict[str, Any]
Path = tuple[str, ...]

_READABLE = component("Readable", READABLE)
_UNREADABLE = component("Unreadable", UNREADABLE)


def _at(path: Path, leaf: Schema, *, required: bool) -> Schema:
    """``leaf`` for the value at ``path``; without ``required``, a missing value (or one
    under something that is not an object, which the parsers read as empty) passes."""
    schema = leaf
    for key in reversed(path):
        schema = (
            {"type": "object", "required": [key], "properties": {key: schema}}
            if required
            else {"properties": {key: schema}}
        )
    return schema


def read(path: Path) -> Schema:
    """The value at ``path`` is readable (``gateway.values.text`` is not ``None``)."""
    return _at(path, _READABLE, required=True)


def unread(*paths: Path) -> Schema:
    """None of ``paths`` holds a readable value."""
    return {"allOf": [_at(path, _UNREADABLE, required=False) for path in paths]}


def _fits_text(limit: FieldLimit) -> Schema:
    ok = f"[^{limit.refused[1:-1]}]"
    edge = f"[^{WS[1:-1]}{limit.refused[1:-1]}]"
    core = f"{edge}({ok}{{0,{limit.max_chars - 2}}}{edge})?"
    # ``pattern`` holds strings only: any other value passes (a number always fits).
    return {"description": f"as read (trimmed): {limit.rule}", "pattern": f"^{WS}*({core})?{WS}*$"}


_FITS = {limit: component(f"Fits{limit.kind.title()}", _fits_text(limit)) for limit in (IDENTIFIER, TEXT)}


def fits_text(limit: FieldLimit) -> Schema:
    """A value whose trimmed text is within ``limit`` (numbers always are)."""
    return _FITS[limit]


def fits(path: Path, limit: FieldLimit) -> Schema:
    return _at(path, fits_text(limit), required=False)


def first(paths: Sequence[Path], limit: FieldLimit) -> Schema:
    """The first readable of ``paths`` is the one read, and only it is held to ``limit``.
    (An unread value fits any limit: blank, a sentinel, or not a string.)"""
    head, rest = paths[0], paths[1:]
    if not rest:
        return fits(head, limit)
    return {"allOf": [fits(head, limit), {"anyOf": [read(head), first(rest, limit)]}]}


def first_read(paths: Sequence[Path], limit: FieldLimit) -> Schema:
    """``first``, and one of ``paths`` must be readable: an identity the parser requires."""
    head, rest = paths[0], paths[1:]
    if not rest:
        return {"allOf": [read(head), fits(head, limit)]}
    return {"allOf": [fits(head, limit), {"anyOf": [read(head), first_read(rest, limit)]}]}


def any_read(paths: Sequence[Path]) -> Schema:
    return {"anyOf": [read(p) for p in paths]}


def _one(*paths: str) -> list[Path]:
    return [(p,) for p in paths]


def _described(model: type[BaseModel], rules: list[Schema]) -> Schema:
    """An object of any JSON values held to ``rules``; the model's fields are listed in the
    description (as properties, each would be one more value for a generator to draw)."""
    fields = "; ".join(
        f"`{name}`" + (f": {prop['description']}" if "description" in prop else "")
        for name, prop in model.model_json_schema(by_alias=True)["properties"].items()
    )
    return {
        "type": "object",
        "description": f"{(model.__doc__ or '').strip()} Fields: {fields}.",
        "additionalProperties": JSON_VALUE_REF,
        "allOf": rules,
    }


def _shiprocket() -> Schema:
    ping = {
        "anyOf": [
            _at((key,), {"type": "string", "pattern": f"^{WS}*{any_case(shiprocket._PING_PREFIX)}"}, required=True)
            for key in shiprocket._PING_FIELDS
        ]
    }
    event = [
        first_read(_one("awb", "awb_code"), IDENTIFIER),
        first(_one(*shiprocket._LABEL_FIELDS), TEXT),
        fits(("current_timestamp",), IDENTIFIER),
        fits(("order_id",), IDENTIFIER),
        fits(("courier_name",), IDENTIFIER),
        *(fits((key,), TEXT) for key in shiprocket._META_FIELDS),
    ]
    return _described(PAYLOADS[Source.SHIPROCKET], [{"anyOf": [ping, {"allOf": event}]}])


def _shipway_entry() -> tuple[Schema, Schema]:
    """(the entry names no shipment, the entry is read within the limits). The parser
    falls back on the entry's ``api_input`` copy of each field; only the entry's own
    fields are described here (a copy of the same values, as Shipway sends it)."""
    awb = _one(*shipway._AWB_FIELDS)
    limits = [
        first_read(awb, IDENTIFIER),
        fits(("current_status",), TEXT),
        first(_one(*shipway._TIME_FIELDS), IDENTIFIER),
        fits(("order_id",), IDENTIFIER),
        fits(("carrier",), IDENTIFIER),
        *(fits((key,), TEXT) for key in shipway._META_FIELDS),
    ]
    return unread(*awb), {"allOf": limits}


def _shipway() -> Schema:
    unnamed, entry = _shipway_entry()
    entry = component("ShipwayEntry", entry)
    entry_object = {"type": "object", "allOf": [entry]}
    shapes = [
        # A batch: every entry names its shipment (an empty one is a panel ping).
        _at(("status_feed",), {"type": "array", "items": entry_object}, required=True),
        # status_feed as an object: one entry sent without its list, or PHP's {"0": entry, ...}.
        _at(
            ("status_feed",),
            {"type": "object", "anyOf": [entry, {"allOf": [unnamed, {"additionalProperties": entry_object}]}]},
            required=True,
        ),
        # One shipment at the top level.
        {"allOf": [{"properties": {"status_feed": {"type": ["null", "boolean", "number", "string"]}}}, entry]},
        # A panel's test ping: order_id and current_status, no AWB.
        {"allOf": [{"required": ["order_id", "current_status"], "properties": {"status_feed": False}}, unnamed]},
    ]
    return _described(PAYLOADS[Source.SHIPWAY], [{"anyOf": shapes}])


_FLAG_WORDS = ("1", "true", "yes", "y")
_NOT_STRING_OR_NUMBER = ["null", "boolean", "object", "array"]


def _flag() -> Schema:
    """``gateway.values.flag`` reads it as true."""
    return {"anyOf": [{"const": True}, {"type": "number", "const": 1}, exactly(_FLAG_WORDS)]}


def _not_flag() -> Schema:
    """``gateway.values.flag`` reads it as false (``_flag``'s complement)."""
    return {
        "anyOf": [
            {"type": ["null", "object", "array"]},
            {"const": False},
            {"type": "number", "exclusiveMaximum": 1},
            {"type": "number", "exclusiveMinimum": 1},
            {"type": "string", "pattern": besides(_FLAG_WORDS)["anyOf"][1]["pattern"]},
        ]
    }


def _clickpost() -> Schema:
    """The parser falls back on ``additional.latest_status`` (code, description, time,
    reference) and on ``courier_name`` spellings; only the documented fields are described."""
    add = "additional"
    code = ("clickpost_status_code",)
    # Code 101 (a return placed before it has a waybill), as a number or its digits.
    placed = _at(code, {"anyOf": [{"const": 101}, exactly(["101"])]}, required=True)
    not_placed = _at(
        code,
        {
            "anyOf": [
                {"type": _NOT_STRING_OR_NUMBER},
                {"type": "number", "exclusiveMaximum": 101},
                {"type": "number", "exclusiveMinimum": 101},
                {"type": "string", "pattern": besides(["101"])["anyOf"][1]["pattern"]},
            ]
        },
        required=False,
    )
    forward = [
        _at((add, "is_rvp"), _not_flag(), required=False),
        not_placed,
        read(("waybill",)),
        fits((add, "order_id"), IDENTIFIER),
    ]
    reverse = [
        {"anyOf": [_at((add, "is_rvp"), _flag(), required=True), placed]},
        {"anyOf": [read(("waybill",)), {"allOf": [placed, read((add, "forward_awb"))]}]},
        fits((add, "forward_awb"), IDENTIFIER),
        fits((add, "return_reference_number"), IDENTIFIER),
        fits((add, "forward_reference_number"), IDENTIFIER),
    ]
    rules = [
        {"anyOf": [{"allOf": forward}, {"allOf": reverse}]},
        fits(("waybill",), IDENTIFIER),
        fits(code, TEXT),
        fits(("clickpost_status_description",), TEXT),
        fits(("timestamp",), IDENTIFIER),
        first([(add, "courier_partner_name"), ("courier_partner_name",)], IDENTIFIER),
        _at((add, "item_info"), {"items": {"properties": {"sku": fits_text(IDENTIFIER)}}}, required=False),
        *(
            fits(p, TEXT)
            for p in [
                ("cp_id",),
                (add, "ndr_status_code"),
                (add, "ndr_status_description"),
                (add, "courier_partner_edd"),
            ]
        ),
    ]
    return _described(PAYLOADS[Source.CLICKPOST], rules)


def _magic() -> Schema:
    """The parser also reads ``status`` (for a missing ``notificationType``), ``courierName``,
    ``statusTime``/``timestamp``/``eventTime`` and ``logisticAggregatorInfo``; only the
    documented fields are described."""
    info = "returnOrderInfo"
    forward_awb = _one(*magic.FORWARD_AWB_FIELDS)
    forward_declared = _at(("shipmentType",), exactly(["FORWARD"]), required=True)
    named = {
        "anyOf": [
            first_read(forward_awb, IDENTIFIER),
            {
                "allOf": [
                    unread(*forward_awb),
                    any_read([(info, "returnAwb"), (info, "awb"), (info, "returnOrderId")]),
                    _at(("shipmentType",), besides(["FORWARD"]), required=False),
                ]
            },
        ]
    }
    # notificationType is kept exactly as sent: untrimmed, held to the text limit.
    refused = TEXT.refused[1:-1]
    as_sent = {"pattern": f"^{WS}*$|^[^{refused}]{{0,{TEXT.max_chars}}}$"}
    item = {"items": {"properties": {"sku": fits_text(IDENTIFIER), "itemId": fits_text(IDENTIFIER)}}}
    # ``items`` when it is a list holding an object, else ``lineItems``.
    items_read = _at(("items",), {"type": "array", "contains": {"type": "object"}}, required=True)
    items_unread = {
        "properties": {
            "items": {
                "anyOf": [
                    {"type": ["null", "boolean", "number", "string", "object"]},
                    {"type": "array", "items": {"type": ["null", "boolean", "number", "string", "array"]}},
                ]
            }
        }
    }
    rules = [
        named,
        _at(("notificationType",), as_sent, required=False),
        # A return leg's AWB and id (a declared FORWARD leg ignores them).
        {
            "anyOf": [
                forward_declared,
                _at(
                    (info,),
                    {"allOf": [first([("returnAwb",), ("awb",)], IDENTIFIER), fits(("returnOrderId",), IDENTIFIER)]},
                    required=False,
                ),
            ]
        },
        first(_one("forwardOrderCode", "forwardOrderId"), IDENTIFIER),
        fits(("forwardShipmentCode",), IDENTIFIER),
        fits(("carrierName",), IDENTIFIER),
        _at((info,), first([("carrierName",), ("transporter",)], IDENTIFIER), required=False),
        fits(("warehouseCode",), IDENTIFIER),
        fits(("logisticAggregatorName",), IDENTIFIER),
        fits(("notificationUpdateTime",), IDENTIFIER),
        {
            "anyOf": [
                {"allOf": [items_read, _at(("items",), item, required=True)]},
                {"allOf": [items_unread, _at(("lineItems",), item, required=False)]},
            ]
        },
    ]
    return _described(PAYLOADS[Source.MAGIC], rules)


BODIES: dict[Source, Schema] = {
    Source.SHIPROCKET: _shiprocket(),
    Source.SHIPWAY: _shipway(),
    Source.CLICKPOST: _clickpost(),
    Source.MAGIC: _magic(),
}
