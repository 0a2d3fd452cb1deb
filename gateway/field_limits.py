"""The one table of field limits: how long a value read from a request may be, and which
control characters it may hold (README "Field limits").

Two kinds of value, one rule each, the same for every backend:

* an **identifier** (AWBs, order and return codes, SKUs, courier names, the raw status
  time): at most 128 characters, and no control character at all;
* a **text** (status texts, reasons, remarks): at most 2,000 characters, and no control
  character but tab, line feed and carriage return.

"Control character" is Unicode's ``Cc``: U+0000–U+001F, U+007F–U+009F. A value that breaks
its limit is refused with a ``422`` naming the field, never cut or cleaned: a shortened
AWB would name another shipment, and PostgreSQL text cannot hold U+0000 at all, so a value
that slipped through would be a ``503`` there and a ``200`` on SQLite. Fields the gateway
does not read stay in the stored payload as sent (JSON keeps their escapes).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from gateway.models import InboundEvent


@dataclass(frozen=True, slots=True)
class FieldLimit:
    kind: str
    max_chars: int
    #: The control characters the kind refuses, as a regex character class.
    refused: str
    #: The rule in words, for error messages.
    rule: str

    def problem(self, value: str) -> str | None:
        """Why ``value`` breaks this limit, or ``None``. ``isprintable`` is false for every
        control character, so the common value costs one C-level scan and no regex."""
        if len(value) <= self.max_chars and value.isprintable():
            return None
        if len(value) > self.max_chars:
            return f"is {len(value)} characters long; {self.rule}"
        found = re.search(self.refused, value)
        return None if found is None else f"contains control character U+{ord(found.group()):04X}; {self.rule}"

    def fits(self, value: str) -> bool:
        return self.problem(value) is None

    @property
    def pattern(self) -> str:
        """The refused characters as a JSON Schema ``pattern`` (ECMA 262 spelling)."""
        return "^[^" + self.refused[1:-1] + "]*$"

    # As ``Annotated`` metadata (``Identifier``, ``Text``): pydantic checks the limit after
    # reading the string, and the published schema carries it as maxLength and pattern.
    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._validate, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update(maxLength=self.max_chars, pattern=self.pattern)
        return json_schema

    def _validate(self, value: str) -> str:
        problem = self.problem(value)
        if problem is not None:
            raise PydanticCustomError("field_limit", problem)
        return value


IDENTIFIER = FieldLimit(
    "identifier",
    128,
    r"[\u0000-\u001f\u007f-\u009f]",
    "an identifier has at most 128 characters and no control characters",
)
TEXT = FieldLimit(
    "text",
    2000,
    r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]",
    "a text has at most 2000 characters and no control characters but tab, line feed and carriage return",
)

#: Every value the gateway reads from an inbound body into a notification, by its SPEC §7.1
#: name. The request bodies of the returns and proxy APIs use the same two kinds through
#: ``Identifier`` and ``Text``.
FIELD_LIMITS: dict[str, FieldLimit] = {
    "awb": IDENTIFIER,
    "forwardAwb": IDENTIFIER,
    "returnAwb": IDENTIFIER,
    "returnOrderId": IDENTIFIER,
    "forwardOrderCode": IDENTIFIER,
    "forwardShipmentCode": IDENTIFIER,
    "courierName": IDENTIFIER,
    "transporter": IDENTIFIER,
    "warehouseCode": IDENTIFIER,
    "logisticAggregatorName": IDENTIFIER,
    "statusTime": IDENTIFIER,  # the time as received, kept when it cannot be read
    "items.sku": IDENTIFIER,
    "items.itemId": IDENTIFIER,
    "rawStatus": TEXT,
    "rawCode": TEXT,  # the code, or the status text it was read from
    "logisticAggregatorMetaData": TEXT,  # each text value
}

Identifier = Annotated[str, IDENTIFIER]
Text = Annotated[str, TEXT]

#: InboundEvent attribute → its name in the table.
_EVENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("awb", "awb"),
    ("forward_awb", "forwardAwb"),
    ("return_awb", "returnAwb"),
    ("return_order_id", "returnOrderId"),
    ("forward_order_code", "forwardOrderCode"),
    ("forward_shipment_code", "forwardShipmentCode"),
    ("courier_name", "courierName"),
    ("transporter", "transporter"),
    ("warehouse_code", "warehouseCode"),
    ("aggregator_name", "logisticAggregatorName"),
    ("status_time_raw", "statusTime"),
    ("raw_status", "rawStatus"),
    ("raw_code", "rawCode"),
)
_CHECKS = tuple((attr, name, FIELD_LIMITS[name]) for attr, name in _EVENT_FIELDS)
# The fast path reads the attributes of each kind in one C call (``attrgetter``): about half
# the cost of a ``getattr`` per field, and this runs for every event of every webhook.
_IDENTIFIERS = operator.attrgetter(*(attr for attr, _, limit in _CHECKS if limit is IDENTIFIER))
_TEXTS = operator.attrgetter(*(attr for attr, _, limit in _CHECKS if limit is TEXT))
_META = FIELD_LIMITS["logisticAggregatorMetaData"]
_SHORT, _LONG = IDENTIFIER.max_chars, TEXT.max_chars


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    message: str
    #: The offending value, to find where the body carried it; never logged or answered.
    value: str


def event_problems(event: InboundEvent) -> list[FieldProblem]:
    """Every value of ``event`` that breaks its limit (empty for nearly every event)."""
    # ``isprintable`` is false for every control character: one C-level scan per value, and
    # the table is consulted only when a value fails it or is long.
    for value in _IDENTIFIERS(event):
        if value is not None and (len(value) > _SHORT or not value.isprintable()):
            return _problems(event)
    for value in _TEXTS(event):
        if value is not None and (len(value) > _LONG or not value.isprintable()):
            return _problems(event)
    for value in event.aggregator_meta.values():
        if type(value) is str and (len(value) > _LONG or not value.isprintable()):
            return _problems(event)
    if event.items:
        for item in event.items:
            for value in (item.sku, item.item_id):
                if value is not None and (len(value) > _SHORT or not value.isprintable()):
                    return _problems(event)
    return []


def _problems(event: InboundEvent) -> list[FieldProblem]:
    found: list[FieldProblem] = []
    for attr, name, limit in _CHECKS:
        _add(found, name, limit, getattr(event, attr))
    for item in event.items or ():
        _add(found, "items.sku", FIELD_LIMITS["items.sku"], item.sku)
        _add(found, "items.itemId", FIELD_LIMITS["items.itemId"], item.item_id)
    for key, value in event.aggregator_meta.items():
        if isinstance(value, str):
            _add(found, f"logisticAggregatorMetaData.{key}", _META, value)
    return found


def _add(found: list[FieldProblem], name: str, limit: FieldLimit, value: str | None) -> None:
    problem = None if value is None else limit.problem(value)
    if problem is not None:
        assert value is not None
        found.append(FieldProblem(name, problem, value))
