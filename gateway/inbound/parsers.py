"""Source name → parser, each held to the field limits (``gateway.field_limits``).

The limits are checked here, once for every source, on the events a parser read: the
values both backends would store are the ones checked, whichever body field they came from.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from gateway.errors import Unprocessable
from gateway.field_limits import FieldProblem, event_problems
from gateway.inbound import clickpost, magic, shiprocket, shipway
from gateway.inbound.base import ParseResult
from gateway.models import Source

Parser = Callable[[Any], ParseResult]

#: How many body values the search for a field's path visits before it gives up and names
#: the field by its SPEC §7.1 name: an error path must not become a way to burn CPU.
_PATH_SEARCH_BUDGET = 10_000


def checked(parse: Parser) -> Parser:
    """``parse``, refusing (422) an event with a value over its limit, naming its body field."""

    def parse_checked(body: Any) -> ParseResult:
        result = parse(body)
        for event in result.events:
            problems = event_problems(event)
            if problems:
                raise _refusal(body, problems)
        return result

    return parse_checked


PARSERS: dict[Source, Parser] = {
    Source.SHIPROCKET: checked(shiprocket.parse),
    Source.SHIPWAY: checked(shipway.parse),
    Source.CLICKPOST: checked(clickpost.parse),
    Source.MAGIC: checked(magic.parse),
}


def _refusal(body: Any, problems: list[FieldProblem]) -> Unprocessable:
    # One body value often fills several fields (``awb`` and ``forwardAwb``): named once.
    named = {(body_path(body, p.value) or p.field, p.message): None for p in problems}
    errors = [{"field": field, "message": message} for field, message in named]
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return Unprocessable(f"{first['field']} {first['message']}{more}", errors=errors)


def body_path(body: Any, value: str) -> str | None:
    """Where ``body`` carries ``value`` (as sent or trimmed, as the parsers read it), shallowest
    first: ``status_feed[3].awbno``; ``None`` if not found within the search budget."""
    queue: deque[tuple[str, Any]] = deque([("", body)])
    budget = _PATH_SEARCH_BUDGET
    while queue and budget > 0:
        path, node = queue.popleft()
        children = (
            ((f"{path}.{k}" if path else str(k), v) for k, v in node.items())
            if isinstance(node, Mapping)
            else ((f"{path}[{i}]", v) for i, v in enumerate(node))
            if isinstance(node, list)
            else ()
        )
        for child_path, child in children:
            budget -= 1
            if isinstance(child, str) and (child == value or child.strip() == value):
                return child_path
            if isinstance(child, (Mapping, list)):
                queue.append((child_path, child))
    return None
