"""What every aggregator client offers, the values it trades in, and how it fails.

The upstream error tree (each maps to one HTTP status, SPEC §5 and §8)::

    ProblemError
      + UpstreamError
        x Refused            422 the aggregator refused the request; its message in ``detail``
        x BadUpstream        502 the answer was malformed, a 5xx, or the account was rejected
        x UpstreamTimeout    504 no answer within ``[proxy] timeout``
        x Unsupported        501 the aggregator does not offer this operation
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from gateway.errors import ProblemError
from gateway.values import IST, timestamp

if TYPE_CHECKING:
    from gateway.api.proxy_models import CourierRequest, LabelRequest, ReturnAwbRequest


class UpstreamError(ProblemError):
    status: ClassVar[int] = 502
    title: ClassVar[str] = "Bad gateway"


class Refused(UpstreamError):
    status = 422
    title = "Refused by the aggregator"


class BadUpstream(UpstreamError):
    status = 502
    title = "Bad gateway"


class UpstreamTimeout(UpstreamError):
    status = 504
    title = "Gateway timeout"


class Unsupported(UpstreamError):
    status = 501
    title = "Not implemented"


class Operation:
    """Operation names, as logged in ``proxy.call`` and named in 501 answers."""

    RECOMMEND = "courier_recommendation"
    CREATE_ORDER = "create_order"
    GENERATE_LABEL = "generate_label"
    GET_LABEL = "get_label"
    GENERATE_RETURN_AWB = "generate_return_awb"
    GET_RETURN_AWB = "get_return_awb"


@dataclass(frozen=True, slots=True)
class LabelResult:
    """An aggregator's answer to an order, label or return AWB, in the gateway's terms."""

    order_id: str | None
    order_number: str | None
    awb: str | None
    carrier_name: str | None
    shipping_label_url: str | None = None


@dataclass(frozen=True, slots=True)
class Courier:
    courier_id: str
    courier_name: str | None
    priority: int


class AggregatorClient(Protocol):
    """One account of one aggregator. Every method raises an ``UpstreamError`` on failure."""

    name: str

    async def recommend(self, request: CourierRequest) -> list[Courier]: ...

    async def create_order(self, request: LabelRequest) -> LabelResult: ...

    async def generate_label(self, request: LabelRequest, created_order_id: str | None = None) -> LabelResult:
        """``created_order_id``: what Create Order answered for this shipment, if it ran."""
        ...

    async def get_label(self, order_id: str) -> LabelResult: ...

    async def generate_return_awb(self, request: ReturnAwbRequest) -> LabelResult: ...

    async def get_return_awb(self, order_id: str) -> LabelResult: ...


def unsupported(aggregator: str, operation: str) -> Unsupported:
    return Unsupported(f"{aggregator} does not offer {operation.replace('_', ' ')} through the gateway")


def order_time(value: str, fmt: str) -> str:
    """The request's ``orderDate`` (ISO 8601, India time when naive) in an aggregator's format."""
    parsed = timestamp(value)
    return value if parsed is None else parsed.astimezone(IST).strftime(fmt)
