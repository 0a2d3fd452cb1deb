"""What every source parser provides.

A parser module (``shiprocket``, ``shipway``, ``clickpost``, ``magic``) exposes::

    SOURCE: Source
    def parse(body: Any) -> ParseResult        # body: the decoded JSON value

``parse`` never raises for odd values inside a recognisable payload; it raises
``Unidentifiable`` (→ 422) when nothing identifies a shipment. Authentication is not the
parser's job (see ``gateway.inbound.auth``).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import Unprocessable
from gateway.models import InboundEvent


class Unidentifiable(Unprocessable):
    """The body parses but carries no readable AWB / shipment identity."""


@dataclass(frozen=True, slots=True)
class ParseResult:
    events: tuple[InboundEvent, ...]
    #: An aggregator panel's test ping: acknowledged with ``accepted: 0``, routes nothing.
    ping: bool = False

    @classmethod
    def test_ping(cls) -> ParseResult:
        return cls(events=(), ping=True)
