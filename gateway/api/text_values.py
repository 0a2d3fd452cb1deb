"""JSON Schema for values as ``gateway.values.text`` reads them, for the webhook bodies.

``text`` trims with Python's ``str.strip()`` and treats sentinels (``"NA"``, ``"null"``,
``-1``, ...) as absent. JSON Schema has neither: no flags, and an ECMA ``\\s`` that is not
Python's whitespace. So the whitespace is written out as the characters themselves, case
as ``[Nn][Aa]``, and "any string but these words" as a positive pattern built from the
words' trie: generators (schemathesis among them) cannot draw from a ``not`` below the
document root, so nothing here uses one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway.openapi_edge import INT_MAX, INT_MIN
from gateway.values import SENTINELS

Schema = dict[str, Any]

#: What ``str.strip()`` removes (``str.isspace``).
_SPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
WS = f"[{_SPACE}]"
#: One character that is not whitespace.
SOLID = f"[^{_SPACE}]"
_ANY = r"[\s\S]"
#: What ``float`` still holds exactly: ``text`` reads a float past it as absent.
_EXACT = 2**53
NOT_STRING = ["null", "boolean", "number", "object", "array"]


def _class(chars: Iterable[str]) -> str:
    return "".join("\\" + c if c in "\\]^-[" else c for c in chars)


def any_case(word: str) -> str:
    """``word`` as a pattern matching it in any ASCII case."""
    return "".join(
        f"[{c.upper()}{c.lower()}]" if c.isalpha() else ("\\" + c if c in "\\^$.|?*+()[]{}" else c) for c in word
    )


def _cases(c: str) -> str:
    return c.upper() + c.lower() if c.isalpha() else c


def _after(node: dict[str, Any]) -> str:
    """The rest of a trimmed text that has read a prefix of the trie down to ``node`` and
    must not end on a word."""
    alternatives = [] if node.get("") else [""]
    children = [c for c in node if c]
    # Leave the trie on a character no word continues with; then anything ending solid.
    alternatives.append(f"[^{_SPACE}{_class(''.join(_cases(c) for c in children))}]({_ANY}*{SOLID})?")
    alternatives.append(f"{WS}{_ANY}*{SOLID}")
    alternatives += [f"[{_class(_cases(c))}]{_after(node[c])}" for c in children]
    return "(" + "|".join(alternatives) + ")"


def other_than(words: Iterable[str], *, blank: bool) -> str:
    """A pattern for a string whose trimmed text is none of ``words`` (any case); a blank
    string matches only if ``blank``."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for c in word.lower():
            node = node.setdefault(c, {})
        node[""] = True
    children = list(trie)
    start = [f"[^{_SPACE}{_class(''.join(_cases(c) for c in children))}]({_ANY}*{SOLID})?"]
    start += [f"[{_class(_cases(c))}]{_after(trie[c])}" for c in children]
    core = "(" + "|".join(start) + ")"
    return f"^{WS}*{core}{'?' if blank else ''}{WS}*$"


def exactly(words: Iterable[str]) -> Schema:
    """A string whose trimmed text is one of ``words``, in any case."""
    return {"type": "string", "pattern": f"^{WS}*(" + "|".join(any_case(w) for w in words) + f"){WS}*$"}


def besides(words: Iterable[str]) -> Schema:
    """Anything but a string whose trimmed text is one of ``words`` (``exactly``'s complement)."""
    return {"anyOf": [{"type": NOT_STRING}, {"type": "string", "pattern": other_than(words, blank=True)}]}


_SENTINEL_WORDS = sorted(s for s in SENTINELS if s)

#: A value ``text`` reads: a string neither blank nor a sentinel, or a number (not -1, and
#: a float only while it holds its integer exactly).
READABLE: Schema = {
    "description": "an id or label: a string neither blank nor `NA`, `null`, `-1`, ...; or a number",
    "anyOf": [
        {"type": "string", "pattern": other_than(_SENTINEL_WORDS, blank=False)},
        {"type": "number", "minimum": -_EXACT, "exclusiveMaximum": -1},
        {"type": "number", "exclusiveMinimum": -1, "maximum": _EXACT},
        # Past 2**53 only an integer literal is read: a float there has lost its digits.
        {"type": "integer", "minimum": _EXACT + 1, "maximum": INT_MAX},
        {"type": "integer", "minimum": INT_MIN, "maximum": -_EXACT - 1},
    ],
}
#: A value ``text`` reads as absent.
UNREADABLE: Schema = {
    "description": "read as absent: blank, `NA`, `null`, `-1`, ..., or not a string or number",
    "anyOf": [
        {"type": ["null", "boolean", "object", "array"]},
        {"type": "string", "pattern": f"^{WS}*(" + "|".join(any_case(s) for s in _SENTINEL_WORDS) + f")?{WS}*$"},
        {"const": -1},
    ],
}
