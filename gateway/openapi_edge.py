"""What the edge really accepts, said in JSON Schema for ``/openapi.json``.

pydantic's schemas describe a model; a request also passes through ``parse_json`` and the
model's config before the model sees it. ``EdgeSchema`` writes those in, for request
bodies only (``validation`` mode):

* ``coerce_numbers_to_str``: a string field takes a number too (ids arrive as numbers);
* ``str_strip_whitespace`` with ``min_length``: the string needs a non-space character;
* an integer fits in 64 bits (``parse_json`` refuses larger ones, anywhere in the body);
* fields a model keeps or ignores are any JSON value (``JsonValue``), not "anything":
  schema-driven clients must not send what ``parse_json`` refuses.

"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import core_schema

#: The integers ``parse_json`` reads exactly: signed and unsigned 64-bit.
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1

#: Schemas published under ``components`` besides the models' own, by name (``component``).
COMPONENTS: dict[str, dict[str, Any]] = {}


def component(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Publish ``schema`` as ``#/components/schemas/<name>``; answers the reference to it."""
    COMPONENTS[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


#: Any JSON value the gateway reads. Numbers are floats here: an integer literal must fit
#: in 64 bits (``INT_MIN``..``INT_MAX``), which JSON Schema cannot say of ``number``.
JSON_VALUE_REF = {"$ref": "#/components/schemas/JsonValue"}
COMPONENTS["JsonValue"] = {
    "description": "any JSON value; an integer must fit in 64 bits",
    "anyOf": [
        {"type": "null"},
        {"type": "boolean"},
        {"type": "string"},
        {"type": "number"},
        {"type": "array", "items": JSON_VALUE_REF},
        {"type": "object", "additionalProperties": JSON_VALUE_REF},
    ],
}

#: What pydantic's ``str_strip_whitespace`` trims: Unicode's White_Space, which is neither
#: ECMA's ``\s`` nor Python's ``str.isspace`` (U+001C..U+001F stay). Written out as the
#: characters themselves, so every regex engine reads them alike.
_TRIMMED = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
#: A string with something left once trimmed.
NOT_BLANK = "[^" + _TRIMMED + "]"


class EdgeSchema(GenerateJsonSchema):
    """pydantic's schema generator, with what the edge adds to a request body (above)."""

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        json_schema = super().str_schema(schema)
        if self.mode != "validation":
            return json_schema
        config = self._config.config_dict
        if config.get("str_strip_whitespace") and json_schema.get("minLength", 0) > 0:
            json_schema.setdefault("pattern", NOT_BLANK)
        if config.get("coerce_numbers_to_str") and not schema.get("strict"):
            return {"anyOf": [json_schema, {"type": "number"}]}
        return json_schema

    def int_schema(self, schema: core_schema.IntSchema) -> JsonSchemaValue:
        json_schema = super().int_schema(schema)
        if self.mode == "validation":
            json_schema.setdefault("minimum", INT_MIN)
            json_schema.setdefault("maximum", INT_MAX)
        return json_schema

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        config = schema.get("config", {})
        if self.mode != "validation" or "properties" not in json_schema:
            return json_schema
        if config.get("extra_fields_behavior", "ignore") != "forbid":
            # A stand-in: pydantic resolves every "$ref" it meets against its own definitions.
            json_schema["additionalProperties"] = dict(_JSON_VALUE_MARK)
        if config.get("str_strip_whitespace"):
            for prop in json_schema["properties"].values():
                _trimmed_limits(prop)
        return json_schema

    def generate(self, schema: core_schema.CoreSchema, mode: JsonSchemaMode = "validation") -> JsonSchemaValue:
        unmarked: JsonSchemaValue = _unmark(super().generate(schema, mode))
        return unmarked

    def generate_definitions(self, inputs: Sequence[tuple[Any, JsonSchemaMode, core_schema.CoreSchema]]) -> Any:
        keys, definitions = super().generate_definitions(inputs)
        return keys, _unmark(definitions)


_JSON_VALUE_MARK = {"x-gateway-json-value": True}
#: The pattern a field limit publishes (``gateway.field_limits.FieldLimit.pattern``).
_LIMIT = re.compile(r"^\^\[\^(.+)\]\*\$$")


def _trimmed_limits(node: Any) -> None:
    """A field limit (no refused character, at most ``maxLength``) holds for the trimmed
    value: refused whitespace may surround it, and does not count. One pattern says it all,
    with "not blank" folded in: a generator draws from one pattern and filters by the rest."""
    if isinstance(node, list):
        for item in node:
            _trimmed_limits(item)
    if not isinstance(node, dict):
        return
    found = _LIMIT.match(node.get("pattern", ""))
    if found:
        refused, longest = found.group(1), node.pop("maxLength", None)
        edge, inner = f"[^{_TRIMMED}{refused}]", f"[^{refused}]"
        middle = f"{inner}*" if longest is None else f"{inner}{{0,{max(longest - 2, 0)}}}"
        core = f"{edge}({middle}{edge})?" if longest != 1 else edge
        optional = "" if _drop_not_blank(node.get("anyOf", [])) else "?"
        node["pattern"] = f"^[{_TRIMMED}]*({core}){optional}[{_TRIMMED}]*$"
    for key in ("anyOf", "allOf", "items"):
        if key in node:
            _trimmed_limits(node[key])


def _drop_not_blank(branches: list[Any]) -> bool:
    """Remove "not blank" from the string branches; whether one said it."""
    said = False
    for branch in branches:
        if isinstance(branch, dict) and branch.get("pattern") == NOT_BLANK:
            del branch["pattern"]
            branch.pop("minLength", None)
            said = True
    return said


def _unmark(value: Any) -> Any:
    if isinstance(value, dict):
        return {**JSON_VALUE_REF} if value == _JSON_VALUE_MARK else {k: _unmark(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unmark(v) for v in value]
    return value
