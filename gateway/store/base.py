"""The one interface every store backend implements, and the values it trades in."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from gateway.models import InboundEvent
from gateway.routing import EndpointConfig
from gateway.store.admin_types import (
    AttemptStats,
    EndpointBacklog,
    EndpointWrite,
    NotificationQuery,
    NotificationRecord,
)

if TYPE_CHECKING:  # not at run time: the SQLite writer process imports this module, not logging
    from gateway.store.health import CommitHealth


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

    #: What the store's commits say about whether it can commit now (``/readyz``).
    commits: CommitHealth

    async def ping(self) -> None:
        """Raise if the store cannot answer."""
        ...

    async def probe_commit(self) -> None:
        """Commit one tiny durable write; raise if the store cannot (``CommitHealth.check``)."""
        ...

    async def listen(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` whenever any process sharing the store adds due work (a no-op for
        a store only this process writes: its own nudges suffice)."""
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

    async def endpoints(self) -> list[EndpointRecord]:
        """Every live (not deleted) endpoint of every org."""
        ...

    async def claim(self, now: float, free: dict[tuple[str, str], int], lease: float) -> list[ClaimedDelivery]:
        """Lease due deliveries: at most ``free[(org, endpoint)]`` per endpoint, never one
        whose ordered shipment has an earlier delivery pending or parked. Retries due by
        ``now`` come first, earliest due first; then fresh deliveries (no failed attempt on
        record), oldest first and due whatever ``now`` says."""
        ...

    async def rebase_schedule(self, now: float) -> float:
        """Before the first claim of a dispatcher: if the store's clock went back since times
        were written (local wall clock, across a restart), move pending retries' due times
        earlier by as much; return the shift. A no-op on the database's clock."""
        ...

    async def complete(self, completions: Sequence[Completion], now: float) -> list[CompletionOutcome]:
        """Record attempt results, each fenced by its lease token (a lost lease changes nothing)."""
        ...

    async def release(self, leases: Sequence[tuple[int, str]]) -> None:
        """Give back unused leases (graceful shutdown), without using up an attempt."""
        ...

    async def set_disabled(self, org: str, endpoint: str, disabled: bool, reason: str | None, now: float) -> bool:
        """Park (or resume, in order) an endpoint's deliveries; False if there is no such endpoint."""
        ...

    async def deliveries(
        self, *, org: str | None, endpoint: str | None, state: str | None, after_id: int, limit: int
    ) -> list[DeliveryView]:
        """Deliveries by id, after ``after_id`` (the cursor), filtered."""
        ...

    async def retry_delivery(self, delivery_id: int, now: float) -> DeliveryView | None:
        """Requeue one failed delivery now, with a fresh schedule (its ``eventId`` kept)."""
        ...

    async def recover(self, org: str, endpoint: str, since: float, until: float, now: float) -> int:
        """Requeue the endpoint's failed deliveries created in [since, until); return how many."""
        ...

    async def prune(self, before: float, limit: int) -> int:
        """Delete up to ``limit`` notifications received before ``before`` whose deliveries
        are all delivered (with those deliveries and their attempts), and delivered QC
        updates older than ``before``; return how many rows went. What is pending, failed
        or parked stays, however old: the dead letter must remain replayable."""
        ...

    # --- returns (SPEC §9) ---------------------------------------------------------

    async def save_return(self, record: ReturnRecord) -> tuple[ReturnRecord, bool]:
        """Record a return unless its code (or, when ``leg_id`` is set, its leg) is known;
        return (the stored record, whether it was new)."""
        ...

    async def get_return(self, org: str, return_order_code: str) -> ReturnRecord | None: ...

    async def returns_for_legs(self, org: str, leg_ids: Sequence[int]) -> list[ReturnRecord]: ...

    async def add_processing_update(
        self,
        org: str,
        return_order_code: str,
        returns_system: str,
        qc_status: str,
        body: bytes,
        webhook_id: str,
        now: float,
    ) -> int:
        """Store a QC result and its outbox row (one transaction); return the delivery id."""
        ...

    # --- admin (SPEC §11); the values are defined in gateway/store/admin_types.py ----

    async def notifications(self, query: NotificationQuery) -> list[NotificationRecord]:
        """Notifications matching ``query``, newest first (by acceptance order ``seq``),
        only those with ``seq < query.before_seq`` when set (the cursor), at most ``query.limit``.
        ``deliveries`` is left empty."""
        ...

    async def notification(self, event_id: str) -> NotificationRecord | None:
        """One notification with its deliveries (by id) and each one's attempts (oldest first)."""
        ...

    async def backlog(self) -> list[EndpointBacklog]:
        """Per (org, endpoint) with deliveries ``pending`` or ``parked``: how many, and the
        oldest one's ``created_at``. Cheap: it runs on every ``/metrics`` scrape."""
        ...

    async def attempt_stats(self, since: float) -> list[AttemptStats]:
        """Per (org, endpoint): attempts made at or after ``since`` and how many got a 2xx."""
        ...

    async def put_endpoint(self, org: str, config: EndpointConfig) -> EndpointWrite:
        """Create or replace the API-owned endpoint ``config.name`` of ``org``: ``CREATED``,
        ``REPLACED``, or ``FILE_OWNED`` (a live file-owned endpoint of that name; nothing changes).
        Replacing keeps the disabled state; re-creating a deleted endpoint starts it enabled."""
        ...

    async def delete_endpoint(self, org: str, name: str, now: float) -> tuple[EndpointWrite, int]:
        """Delete a live API-owned endpoint: ``(DELETED, n)`` where ``n`` of its pending or
        parked deliveries were marked ``failed`` (replayable if it is created again);
        ``(FILE_OWNED, 0)`` or ``(NOT_FOUND, 0)`` change nothing."""
        ...

    # --- aggregator proxy ----------------------------------------------------------

    async def label(self, org: str, kind: str, order_number: str, shipment_code: str) -> dict[str, Any] | None:
        """The stored result of a label (``kind='label'``) or return AWB (``'return_awb'``)."""
        ...

    async def label_by_order_id(self, org: str, kind: str, order_id: str) -> dict[str, Any] | None:
        """The stored result whose aggregator ``orderId`` is ``order_id``."""
        ...

    async def save_label(
        self,
        org: str,
        kind: str,
        order_number: str,
        shipment_code: str,
        order_id: str | None,
        result: dict[str, Any],
        now: float,
    ) -> tuple[dict[str, Any], bool]:
        """Store ``result`` unless one exists; return (the stored result, whether it was new).

        The first result wins: a second generation for the same shipment never replaces it.
        """
        ...

    async def claim_label(
        self, org: str, kind: str, order_number: str, shipment_code: str, token: str, now: float, until: float
    ) -> bool:
        """Take the right to generate this label or return AWB until ``until``; ``False``
        while another token's claim has not run out (another process is generating it)."""
        ...

    async def release_label_claim(self, org: str, kind: str, order_number: str, shipment_code: str, token: str) -> None:
        """Give back ``token``'s claim (another token's is left alone)."""
        ...


# --- delivery (the dispatcher's side of the outbox) -------------------------------------


@dataclass(frozen=True, slots=True)
class EndpointRecord:
    """An endpoint as the store holds it: its config plus operational state."""

    org: str
    name: str
    owner: str
    config: EndpointConfig
    version: int
    disabled: bool
    disabled_reason: str | None
    last_success_at: float | None
    failing_since: float | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: int
    event_id: str
    org: str
    endpoint: str
    kind: str
    #: Attempts including this one (counted at claim time, so a crash still uses one up).
    attempt: int
    lease_token: str
    body: bytes
    #: When the delivery was created (= the notification's acceptance): end-to-end latency.
    created_at: float | None = None


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    at: float
    status_code: int | None
    duration_ms: float
    error: str | None
    response_excerpt: str | None


def failure_text(attempt: AttemptRecord) -> str:
    """A failed attempt's ``last_error``, never empty: a pending delivery with a failure on
    record is a retry, due on its schedule and claimed before fresh deliveries."""
    if attempt.error:
        return attempt.error
    return f"http status {attempt.status_code}" if attempt.status_code is not None else "attempt failed"


class Verdict(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    #: 410 Gone: the endpoint is disabled and the delivery parked with it.
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class Completion:
    delivery_id: int
    lease_token: str
    org: str
    endpoint: str
    verdict: Verdict
    attempt: AttemptRecord
    next_attempt_at: float | None = None
    #: Disable the endpoint when it has failed without a success since this long ago.
    disable_after: float | None = None


@dataclass(frozen=True, slots=True)
class CompletionOutcome:
    #: False when the lease had been lost (taken over): the result changed nothing.
    applied: bool
    #: Set when this completion disabled the endpoint (410 or ``disable_after``).
    disabled_endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    event_id: str
    org: str
    endpoint: str
    state: str
    attempt_count: int
    next_attempt_at: float | None
    last_status: int | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class ReturnRecord:
    org: str
    return_order_code: str
    forward_order_code: str | None
    returns_system: str | None
    awb: str | None
    transporter: str | None
    leg_id: int | None
    event_id: str | None
    qc_status: str | None
    created_at: float
