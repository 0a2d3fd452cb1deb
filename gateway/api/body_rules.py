"""What a request body must satisfy beyond its model's fields, in JSON Schema, for the
operations that ``/openapi.json`` publishes (``Operation.body_rules``).

Create Return Order comes in two shapes (``gateway.api.returns_models``), and the return
is identified by whichever carries its codes and items; a body naming a value the path
already names (processing-update's ``returnOrderCode``) may only repeat it, which JSON
Schema cannot compare, so the documented body leaves it out.
"""

from __future__ import annotations

from typing import Any

from gateway.api.text_values import SOLID

Schema = dict[str, Any]

#: A value that is a code once trimmed (``str.strip``): a number, or a string not blank.
_CODE: Schema = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": SOLID}]}
#: A value Python reads as false, so the other shape's field is read instead.
_FALSY: Schema = {"anyOf": [{"type": "null"}, {"const": ""}]}


def _either(omni: str, rms: str, value: Schema, falsy: Schema) -> Schema:
    """The Omni field ``omni`` holds ``value``; or it is falsy and ``orderDetails.<rms>`` does."""
    return {
        "anyOf": [
            {"required": [omni], "properties": {omni: value}},
            {
                "required": ["orderDetails"],
                "properties": {
                    omni: falsy,
                    "orderDetails": {"type": "object", "required": [rms], "properties": {rms: value}},
                },
            },
        ]
    }


#: ``CreateReturnOrder.return_code()``, ``forward_code()`` and ``items()`` are all present.
RETURN_IDENTIFIED: tuple[Schema, ...] = (
    _either("returnOrderCode", "orderNumber", _CODE, _FALSY),
    _either("forwardOrderCode", "forwardOrderNumber", _CODE, _FALSY),
    _either(
        "orderItems",
        "orderLineItemList",
        {"type": "array", "minItems": 1},
        {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}]},
    ),
)

#: The path names the return; a body ``returnOrderCode`` is accepted only when equal to it.
NO_RETURN_CODE: tuple[Schema, ...] = ({"properties": {"returnOrderCode": False}},)
