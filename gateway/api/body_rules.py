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
from gateway.field_limits import IDENTIFIER

Schema = dict[str, Any]

_REFUSED = IDENTIFIER.refused[1:-1]
#: A value that is a code once trimmed (``str.strip``): a number, or a string not blank.
#: Spelled with the identifier limit the fields carry anyway (no control character), so
#: that one pattern draws what the other admits.
_CODE: Schema = {
    "anyOf": [
        {"type": "number"},
        {"type": "string", "pattern": f"^[^{_REFUSED}]*[^{_REFUSED}{SOLID[2:-1]}][^{_REFUSED}]*$"},
    ]
}
#: A value Python reads as false, so the other shape's field is read instead.
_FALSY: Schema = {"anyOf": [{"type": "null"}, {"const": ""}]}


#: (Omni field, RMS field under orderDetails, the value that identifies, the Omni value that
#: leaves it to the RMS field): the return code, the forward code, the items.
_PARTS: tuple[tuple[str, str, Schema, Schema], ...] = (
    ("returnOrderCode", "orderNumber", _CODE, _FALSY),
    ("forwardOrderCode", "forwardOrderNumber", _CODE, _FALSY),
    (
        "orderItems",
        "orderLineItemList",
        {"type": "array", "minItems": 1},
        {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}]},
    ),
)


def _shape(from_rms: tuple[bool, ...]) -> Schema:
    """Each part from the Omni field, or (``from_rms``) from the RMS one."""
    top: Schema = {}
    details: Schema = {}
    for (omni, rms, value, falsy), use_rms in zip(_PARTS, from_rms, strict=True):
        top[omni] = falsy if use_rms else value
        if use_rms:
            details[rms] = value
    required = [omni for (omni, *_), use_rms in zip(_PARTS, from_rms, strict=True) if not use_rms]
    if details:
        top["orderDetails"] = {"type": "object", "required": list(details), "properties": details}
        required.append("orderDetails")
    return {"required": required, "properties": top}


#: ``CreateReturnOrder.return_code()``, ``forward_code()`` and ``items()`` are all present,
#: each from either shape: every combination spelled out, so that a generator need not
#: intersect three alternatives about the same ``orderDetails``.
RETURN_IDENTIFIED: tuple[Schema, ...] = (
    {"anyOf": [_shape(tuple(bool(n >> i & 1) for i in range(len(_PARTS)))) for n in range(2 ** len(_PARTS))]},
)

#: The path names the return; a body ``returnOrderCode`` is accepted only when equal to it.
NO_RETURN_CODE: tuple[Schema, ...] = ({"properties": {"returnOrderCode": False}},)
