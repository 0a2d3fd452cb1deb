"""Accepting events: id them, hand them to the group-commit writer, log the outcome."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.batcher import BatchWriter, CommitTimeout, Deadlines, DirectWriter
from gateway.clock import Clock
from gateway.errors import StoreUnavailable
from gateway.logs import get_logger
from gateway.models import InboundEvent
from gateway.store.base import IngestedEvent, IngestJob, IngestOutcome, Store

log = get_logger("gateway.ingest")


def new_event_id() -> str:
    # Time-ordered (nanoseconds, then 64 random bits): new ids land at the end of the
    # unique indexes instead of at random pages, and sort by acceptance.
    return f"evt_{time.time_ns():016x}{random.getrandbits(64):016x}"


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int
    event_ids: list[str]
    outcomes: list[IngestedEvent]

    def body(self) -> dict[str, object]:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "eventIds": self.event_ids}


#: ``[inbound] commit_timeout``'s default, seconds.
DEFAULT_COMMIT_TIMEOUT = 5.0


class Ingestor:
    def __init__(self, store: Store, clock: Clock, *, commit_timeout: float = DEFAULT_COMMIT_TIMEOUT) -> None:
        """``commit_timeout``: how long a request waits for its commit before it is answered
        503 (nothing acknowledged): a stalled disk or database must not hold senders past
        their own timeouts, whose retries would then be duplicates of what did commit."""
        self._store = store
        self._clock = clock
        self._deadlines = Deadlines(commit_timeout)
        self.writer: BatchWriter[IngestJob, IngestOutcome] | DirectWriter[IngestJob, IngestOutcome]
        queue = getattr(store, "ingest_queue", None)
        if queue is not None:  # the SQLite writer process groups commits on its side
            self.writer = DirectWriter(queue)
        else:
            # A store whose cost is mostly per batch asks for a linger (PostgresStore.ingest_linger).
            self.writer = BatchWriter(store.ingest, linger=float(getattr(store, "ingest_linger", 0.0)))

    def start(self) -> None:
        self.writer.start()

    async def stop(self) -> None:
        await self.writer.stop()
        self._deadlines.close()

    async def ingest(self, org: str, events: Sequence[InboundEvent]) -> IngestResult:
        """Durably store ``events``; return only after their commit (SPEC §6: acked = durable)."""
        job = IngestJob(
            org=org,
            events=events,
            event_ids=[new_event_id() for _ in events],
            received_at=self._clock.now(),
        )
        try:
            future = self.writer.enqueue(job)
            self._deadlines.watch(future)
            outcome = await future
        except CommitTimeout as exc:
            timeout = self._deadlines.seconds
            log.error("store.commit_timeout", org=org, events=len(events), timeout_s=timeout)
            self._store.commits.failed(f"an ingest commit took longer than {timeout:g}s")
            raise StoreUnavailable(
                f"the store did not commit within {timeout:g}s; the event was not acknowledged "
                "(send it again: if it was stored after all, it is acknowledged as a duplicate)"
            ) from exc
        except Exception as exc:
            log.error("store.write_failed", org=org, error=repr(exc))
            raise StoreUnavailable("the store is unavailable; nothing was acknowledged") from exc
        if isinstance(outcome, BaseException):
            log.error("store.write_failed", org=org, error=repr(outcome))
            raise StoreUnavailable("the event could not be stored; nothing was acknowledged") from outcome
        duplicates = sum(1 for o in outcome if o.duplicate)
        return IngestResult(
            accepted=len(outcome) - duplicates,
            duplicates=duplicates,
            event_ids=[o.event_id for o in outcome],
            outcomes=outcome,
        )
