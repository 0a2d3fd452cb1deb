"""The one interface every store backend implements, and the values it trades in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.models import InboundEvent
from gateway.routing import EndpointConfig


@dataclass(frozen=True, slots=True)
class IngestJob:
    """The events of one inbound request; acknowledged only after their commit."""

    org: str
    events: Sequence[InboundEvent]
    event_ids: Sequence[str]
    received_at: float


@dataclass(frozen=True, slots=True)
class IngestedEvent:
    #: The new event's id, or for a duplicate the id of the event it repeats.
    event_id: str
    duplicate: bool
    leg_id: int
    stale: bool
    deliveries: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    event_id: str
    notification_type: str
    raw_status: str | None
    status_time: float
    received_at: float
    source: str
    stale: bool


@dataclass(frozen=True, slots=True)
class LegView:
    leg_id: int
    shipment_type: str
    awb: str | None
    forward_awb: str | None
    return_order_id: str | None
    current_status: str | None
    status_time: float | None
    history: tuple[HistoryEntry, ...]


IngestOutcome = list[IngestedEvent] | BaseException


class Store(Protocol):
    async def open(self) -> None:
        """Connect and apply pending migrations."""
        ...

    async def close(self) -> None: ...

    async def migrate(self) -> list[int]:
        """Apply pending migrations; return the versions applied."""
        ...

    async def ping(self) -> None:
        """Raise if the store cannot answer."""
        ...

    async def ingest(self, jobs: Sequence[IngestJob]) -> list[IngestOutcome]:
        """Store every job in one transaction; one outcome per job, in order.

        A job that fails is rolled back alone and its outcome is the exception; if the
        commit itself fails the whole call raises and nothing is acknowledged.
        """
        ...

    async def sync_file_endpoints(self, org: str, endpoints: Sequence[EndpointConfig]) -> None:
        """Make the file-owned endpoints of ``org`` exactly ``endpoints`` (disabled flags kept)."""
        ...

    async def shipment(self, org: str, awb: str) -> list[LegView]:
        """Every leg keyed by ``awb`` or returning the forward AWB ``awb``, with history."""
        ...
