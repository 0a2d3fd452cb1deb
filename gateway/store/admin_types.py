"""The values the admin side of the store trades in (SPEC §11); re-exported by ``store.base``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # base imports this module: import its names for annotations only
    from gateway.store.base import AttemptRecord, DeliveryView


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationQuery:
    """Filters of ``GET /v1/admin/notifications``; ``None`` means "any"."""

    org: str | None = None
    #: The leg's own AWB, or the forward AWB of a return leg.
    awb: str | None = None
    notification_type: str | None = None
    #: Acceptance time window [since, until), epoch seconds.
    since: float | None = None
    until: float | None = None
    #: The cursor: only notifications accepted before this one (``seq``).
    before_seq: int | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class DeliveryDetail:
    delivery: DeliveryView
    attempts: tuple[AttemptRecord, ...]


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    #: Acceptance order; the search cursor.
    seq: int
    event_id: str
    org: str
    source: str
    received_at: float
    #: The SPEC §7.1 body as sent.
    envelope: dict[str, Any]
    deliveries: tuple[DeliveryDetail, ...] = ()


@dataclass(frozen=True, slots=True)
class EndpointBacklog:
    org: str
    endpoint: str
    #: Deliveries ``pending`` or ``parked``.
    count: int
    #: ``created_at`` of the oldest of them.
    oldest_at: float


@dataclass(frozen=True, slots=True)
class AttemptStats:
    org: str
    endpoint: str
    attempts: int
    successes: int


class EndpointWrite(StrEnum):
    CREATED = "created"
    REPLACED = "replaced"
    DELETED = "deleted"
    FILE_OWNED = "file_owned"
    NOT_FOUND = "not_found"
