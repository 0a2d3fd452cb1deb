"""Source name → parser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.inbound import clickpost, magic, shiprocket, shipway
from gateway.inbound.base import ParseResult
from gateway.models import Source

Parser = Callable[[Any], ParseResult]

PARSERS: dict[Source, Parser] = {
    Source.SHIPROCKET: shiprocket.parse,
    Source.SHIPWAY: shipway.parse,
    Source.CLICKPOST: clickpost.parse,
    Source.MAGIC: magic.parse,
}
