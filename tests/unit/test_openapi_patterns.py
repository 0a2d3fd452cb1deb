"""The patterns /openapi.json publishes agree with the code they describe, string by string.

JSON Schema has no ``str.strip()``, no sentinels and no flags, so the published patterns
spell them out; these tests hold each spelling to the function it stands for, over strings
built from the characters where the two could part (whitespace of one kind and not the
other, control characters, the letters of the sentinels).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

from pydantic import ValidationError

from gateway.api import schemas
from gateway.api.proxy_models import OrderDetails
from gateway.api.text_values import READABLE, UNREADABLE, besides
from gateway.dispatch.signing import secret_key
from gateway.openapi_edge import NOT_BLANK, EdgeSchema
from gateway.values import text

# Python whitespace that pydantic keeps (U+001C), Unicode whitespace, a control character
# that is not whitespace, the letters and signs of "NA", "n/a", "-1", "null", "undefined".
_TRICKY = ["a", "N", "n", "/", "-", "1", "u", "l", "d", "e", "f", "i", "o", " ", "\t", "\x1c", "\x85", "\u3000", "\x00"]


def _strings(count: int, longest: int = 7) -> Iterator[str]:
    rng = random.Random(20261202)
    yield from ("", "na", " N/A ", "-1", "nan", "NaNa", "undefinedx", "\x1cnull\x85", "n/", "a b")
    for _ in range(count):
        yield "".join(rng.choice(_TRICKY) for _ in range(rng.randint(0, longest)))


def _string_pattern(schema: dict[str, object]) -> re.Pattern[str]:
    (pattern,) = (b["pattern"] for b in schema["anyOf"] if b.get("type") == "string")  # type: ignore[attr-defined]
    return re.compile(pattern)


def test_readable_and_unreadable_strings_are_what_text_reads() -> None:
    readable, unreadable = _string_pattern(READABLE), _string_pattern(UNREADABLE)
    for value in _strings(5000):
        read = text(value) is not None
        assert bool(readable.search(value)) is read, repr(value)
        assert bool(unreadable.search(value)) is not read, repr(value)


def test_besides_is_every_trimmed_text_but_the_words() -> None:
    pattern = _string_pattern(besides(["FORWARD"]))
    for value in ["", " ", "forward", " FORWARD\x1c", "forwards", "for ward", "x", "FORWARD!"]:
        assert bool(pattern.search(value)) is (value.strip().lower() != "forward"), repr(value)


def test_not_blank_is_what_pydantic_keeps_when_it_trims() -> None:
    pattern = re.compile(NOT_BLANK)
    base = {"orderNumber": "x", "paymentType": "COD", "orderAmount": 1, "orderDate": "d"}
    item = {"name": "a", "sku": "b", "sellingPricePerUnit": 1, "quantity": 1}
    for value in _strings(300, longest=3):
        try:
            OrderDetails.model_validate({**base, "orderDate": value, "orderLineItems": [item]})
            kept = True
        except ValidationError:
            kept = False
        assert bool(pattern.search(value)) is kept, repr(value)


def test_a_trimmed_identifier_holds_its_limit_once_trimmed() -> None:
    order = OrderDetails.model_json_schema(schema_generator=EdgeSchema)
    pattern = re.compile(order["properties"]["orderNumber"]["pattern"])
    item = {"name": "a", "sku": "b", "sellingPricePerUnit": 1, "quantity": 1}
    base = {"paymentType": "COD", "orderAmount": 1, "orderDate": "d", "orderLineItems": [item]}
    for value in [*_strings(3000), "x" * 128, " x" * 64 + " ", "x" * 129, "\tx" + "y" * 126 + "\x85"]:
        try:
            OrderDetails.model_validate({**base, "orderNumber": value})
            kept = True
        except ValidationError:
            kept = False
        assert bool(pattern.search(value)) is kept, repr(value)


def test_the_secret_pattern_admits_what_signing_takes() -> None:
    pattern = re.compile(schemas._SECRET["pattern"])
    for value in [
        "whsec_",
        "whsec_YQ",
        "whsec_YQ=",
        "whsec_YQ==",
        "whsec_YWJj",
        "whsec_YWJjZA",
        "whsec_Y",
        "YWJj",
        "whsec_YW-j",
    ]:
        try:
            secret_key(value)
            taken = True
        except ValueError:
            taken = False
        assert bool(pattern.search(value)) is taken, value
