"""The dispatcher: claims due deliveries with a lease, sends them, records the outcome.

Isolation comes from per-endpoint slots: each endpoint has at most ``max_in_flight``
attempts under way (and a token bucket when ``rate_per_second`` is set), so a hanging
endpoint holds only its own slots while every other endpoint keeps being claimed.
Per-shipment order is the claim's job (see the store). Tests call ``run_until_idle()``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import functools
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from gateway.batcher import BatchWriter
from gateway.clock import Clock, SteadyClock
from gateway.dispatch.ratelimit import TokenBucket
from gateway.dispatch.retry import RetryPolicy
from gateway.dispatch.sender import AttemptResult, Sender
from gateway.dispatch.signing import Signer
from gateway.logs import get_logger
from gateway.settings import DeliverySettings
from gateway.store.base import (
    AttemptRecord,
    ClaimedDelivery,
    Completion,
    CompletionOutcome,
    EndpointRecord,
    Store,
    Verdict,
)

log = get_logger("gateway.dispatch")

EndpointKey = tuple[str, str]

#: How often the endpoint list is re-read even without a nudge (other processes may change it).
ENDPOINT_REFRESH_SECONDS = 2.0
#: Polling fallback when nothing wakes the dispatcher.
POLL_SECONDS = 1.0
#: Claim this share of an endpoint's ``max_in_flight`` beyond it: a claim is a transaction
#: with a commit, and a few leased deliveries queued keep the endpoint's slots busy while
#: the next claim is under way. A crash delays at most these until their leases expire.
PREFETCH = 0.25
#: A step of the host's wall clock this large (seconds) is logged.
WALL_STEP_REPORTED = 1.0


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how one delivery is sent."""

    url: str
    headers: Mapping[str, str]
    secrets: tuple[str, ...]
    max_in_flight: int
    rate_per_second: float | None
    #: Built once per endpoint refresh, not per attempt (deliveries are the hot path).
    base_headers: dict[str, str] = field(init=False, repr=False, compare=False)
    signer: Signer | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A configured Content-Type (in any case) replaces ours: two would go out otherwise.
        own_type = any(name.lower() == "content-type" for name in self.headers)
        base = {} if own_type else {"content-type": "application/json"}
        object.__setattr__(self, "base_headers", {**base, **self.headers})
        object.__setattr__(self, "signer", Signer(self.secrets) if self.secrets else None)


def endpoint_target(record: EndpointRecord) -> Target:
    c = record.config
    return Target(c.url, c.headers, c.secret, c.max_in_flight, c.rate_per_second)


class Dispatcher:
    def __init__(
        self,
        store: Store,
        sender: Sender,
        settings: DeliverySettings,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        concurrency: int = 512,
        on_outcome: Callable[[ClaimedDelivery, Verdict, AttemptResult], None] | None = None,
        extra_targets: Callable[[], Mapping[EndpointKey, Target]] | None = None,
    ) -> None:
        """``extra_targets``: destinations that are not store endpoints (the returns systems
        of the routes files), read on every refresh so a reload is picked up."""
        self._store = store
        self._sender = sender
        self._settings = settings
        self._clock = clock
        self._policy = RetryPolicy(settings.retry_schedule, settings.jitter, rng)
        self._concurrency = concurrency
        self._on_outcome = on_outcome
        self._extra_targets = extra_targets
        self._targets: dict[EndpointKey, Target] = {}
        self._disabled: set[EndpointKey] = set()
        #: Targets that are store endpoints, the only ones a 410 can disable (and enable park).
        self._endpoint_keys: set[EndpointKey] = set()
        self._in_flight: dict[EndpointKey, int] = {}
        #: Claimed (and leased) but not yet started: the next sends need no claim round trip.
        self._queued: dict[EndpointKey, collections.deque[ClaimedDelivery]] = {}
        self._leases: dict[int, str] = {}
        self._buckets: dict[EndpointKey, TokenBucket] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._refreshed_at = float("-inf")
        #: Whether the store's schedule was checked against this clock (``rebase_schedule``).
        self._rebased = False
        #: The wall clock's step from a SteadyClock last reported (``_watch_wall_clock``).
        self._step_seen = 0.0
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._completions: BatchWriter[Completion, CompletionOutcome] = BatchWriter(self._complete_batch)

    # --- control -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._completions.start()
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._run(), name="dispatcher")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, let attempts under way finish within ``grace``, release the rest."""
        self._stopping = True
        if self._loop_task is not None:
            # Let a claim under way finish rather than cancel it: its transaction commits on
            # the store's side whatever happens here, and only a claim that returned has its
            # leases in self._leases, to be given back below instead of left to expire.
            self._wake.set()
            done, _ = await asyncio.wait({self._loop_task}, timeout=grace)
            if not done:
                self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self._completions.stop()
        await asyncio.sleep(0)  # let the last completions' callbacks give back their leases
        leases = list(self._leases.items())
        self._leases.clear()
        if leases:
            await self._store.release(leases)
            log.info("dispatcher.released", leases=len(leases))

    async def refresh_endpoints(self) -> None:
        records = await self._store.endpoints()
        self._targets = {(r.org, r.name): endpoint_target(r) for r in records}
        if self._extra_targets is not None:
            self._targets.update(self._extra_targets())
        self._disabled = {(r.org, r.name) for r in records if r.disabled}
        self._endpoint_keys = {(r.org, r.name) for r in records}
        for key in [k for k in self._queued if k in self._disabled]:
            self._give_back_queued(key)
        for key, target in self._targets.items():
            bucket = self._buckets.get(key)
            if target.rate_per_second is None:
                self._buckets.pop(key, None)
            elif bucket is None or bucket.rate != target.rate_per_second:
                self._buckets[key] = TokenBucket(target.rate_per_second, self._clock)
        self._refreshed_at = self._clock.now()

    # --- the loop ----------------------------------------------------------------------

    def _watch_wall_clock(self) -> None:
        """Say so when the host's clock steps: schedules ignore it (``SteadyClock``), and so
        do the times stored from now on, until the gateway restarts."""
        if not isinstance(self._clock, SteadyClock):
            return
        step = self._clock.step()
        if abs(step - self._step_seen) >= WALL_STEP_REPORTED:
            self._step_seen = step
            log.warning("clock.wall_clock_stepped", ahead_of_gateway_clock_s=round(step, 3))

    async def _run(self) -> None:
        while not self._stopping:
            self._watch_wall_clock()
            try:
                await self.tick()
            except Exception as exc:  # a store hiccup must not kill the dispatcher
                log.error("dispatcher.tick_failed", error=repr(exc))
            self._wake.clear()
            if self._stopping:  # checked after the clear: stop() sets the flag, then wakes
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await self._wake.wait()

    def _free_slots(self) -> dict[EndpointKey, int]:
        """How many deliveries to claim per endpoint: its free slots plus a ``PREFETCH``
        share queued ahead (rate-limited endpoints: no more than the bucket allows)."""
        queued = sum(len(q) for q in self._queued.values())
        budget = int(self._concurrency * (1 + PREFETCH)) - len(self._tasks) - queued
        free: dict[EndpointKey, int] = {}
        if budget <= 0:
            return free
        for key, target in self._targets.items():
            if key in self._disabled:
                continue
            bucket = self._buckets.get(key)
            ahead = target.max_in_flight + (int(target.max_in_flight * PREFETCH) if bucket is None else 0)
            slots = min(ahead - self._in_flight.get(key, 0) - len(self._queued.get(key, ())), budget)
            if bucket is not None:
                slots = min(slots, bucket.available())
            if slots > 0:
                free[key] = slots
        return free

    async def tick(self) -> int:
        """Claim what is due now and start sending it; return how many were claimed."""
        if self._stopping:
            return 0
        if not self._rebased:
            await self._rebase()
        if self._clock.now() - self._refreshed_at >= ENDPOINT_REFRESH_SECONDS:
            await self.refresh_endpoints()
        free = self._free_slots()
        if not free:
            return 0
        claimed = await self._store.claim(self._clock.now(), free, self._settings.lease)
        for delivery in claimed:
            self._leases[delivery.id] = delivery.lease_token
            self._queued.setdefault((delivery.org, delivery.endpoint), collections.deque()).append(delivery)
        for key in {(d.org, d.endpoint) for d in claimed}:
            self._pump(key)
        return len(claimed)

    async def _rebase(self) -> None:
        """Once, before the first claim: retries scheduled on a clock that has since gone
        back (a step across a restart) are moved to this clock's time line."""
        shift = await self._store.rebase_schedule(self._clock.now())
        self._rebased = True
        if shift > 0:
            log.warning("dispatcher.schedule_rebased", clock_went_back_s=round(shift, 3))

    def _pump(self, key: EndpointKey) -> None:
        """Start queued deliveries of ``key`` while it has free slots (and tokens)."""
        if key in self._disabled:
            self._give_back_queued(key)
            return
        queue = self._queued.get(key)
        target = self._targets.get(key)
        limit = target.max_in_flight if target is not None else 1
        bucket = self._buckets.get(key)
        while queue and self._in_flight.get(key, 0) < limit and not self._stopping:
            delivery = queue.popleft()
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            if bucket is not None:
                bucket.take()
            # A fresh, empty context: nothing the claimer had bound leaks into delivery logs.
            task = asyncio.create_task(self._deliver(delivery), context=contextvars.Context())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _give_back_queued(self, key: EndpointKey) -> None:
        """A disabled endpoint receives nothing more: what was claimed ahead for it goes back
        to the store, which parks it while the endpoint stays disabled."""
        queue = self._queued.pop(key, None)
        if not queue:
            return
        leases = [(d.id, d.lease_token) for d in queue]
        for d in queue:
            self._leases.pop(d.id, None)
        task = asyncio.create_task(self._release(leases))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release(self, leases: list[tuple[int, str]]) -> None:
        try:
            await self._store.release(leases)
        except Exception as exc:  # the leases run out; the rows wait, pending, for an enable
            log.error("dispatcher.release_failed", leases=len(leases), error=repr(exc))

    async def run_until_idle(self) -> None:
        """Claim and send until nothing is due at the clock's current time (for tests)."""
        self._completions.start()
        await self.refresh_endpoints()
        while True:
            claimed = await self.tick()
            if self._tasks:
                await asyncio.wait(self._tasks)
                await self._completions.drain()
                continue
            await self._completions.drain()
            if claimed == 0:
                return

    # --- one delivery ------------------------------------------------------------------

    def _headers(self, delivery: ClaimedDelivery, target: Target) -> dict[str, str]:
        # The host's wall clock, which the receiver checks the timestamp against, not the
        # schedule's (a SteadyClock ignores steps of the wall clock, corrections included).
        timestamp = int(time.time())
        headers = target.base_headers.copy()
        headers["webhook-id"] = delivery.event_id
        headers["webhook-timestamp"] = str(timestamp)
        if target.signer is not None:
            headers["webhook-signature"] = target.signer.header(delivery.event_id, timestamp, delivery.body)
        return headers

    def _verdict(self, delivery: ClaimedDelivery, result: AttemptResult) -> tuple[Verdict, float | None]:
        if result.ok:
            return Verdict.DELIVERED, None
        # A returns system has no endpoint row to disable nor an enable to resume from, so
        # parking its delivery would strand it: there a 410 is an ordinary failure.
        if result.status_code == 410 and (delivery.org, delivery.endpoint) in self._endpoint_keys:
            return Verdict.GONE, None
        delay = self._policy.delay_after(delivery.attempt, result.retry_after)
        if delay is None:
            return Verdict.FAILED, None
        return Verdict.RETRY, self._clock.now() + delay

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        key = (delivery.org, delivery.endpoint)
        try:
            target = self._targets.get(key)
            started = self._clock.now()
            if target is None:
                result = AttemptResult(None, 0.0, "endpoint no longer exists", None, None)
            else:
                # The gateway clock, not the host's: the next attempt is scheduled on it.
                result = await self._sender.send(
                    target.url,
                    delivery.body,
                    self._headers(delivery, target),
                    timeout=self._settings.timeout,
                    now=started,
                )
            verdict, next_at = self._verdict(delivery, result)
            completion = Completion(
                delivery_id=delivery.id,
                lease_token=delivery.lease_token,
                org=delivery.org,
                endpoint=delivery.endpoint,
                verdict=verdict,
                attempt=AttemptRecord(
                    started, result.status_code, result.duration_ms, result.error, result.response_excerpt
                ),
                next_attempt_at=next_at,
                disable_after=self._settings.disable_after,
            )
            # The HTTP part is over, so the slot is free now; the lease stays ours (and the
            # shipment's next delivery stays blocked) until the completion is committed.
            self._completions.enqueue(completion).add_done_callback(
                functools.partial(self._completed, delivery, verdict, result, next_at)
            )
        finally:
            self._in_flight[key] -= 1
            self._pump(key)
            self._wake.set()

    def _completed(
        self,
        delivery: ClaimedDelivery,
        verdict: Verdict,
        result: AttemptResult,
        next_at: float | None,
        future: asyncio.Future[CompletionOutcome],
    ) -> None:
        self._leases.pop(delivery.id, None)
        self._wake.set()
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            # Not recorded: the lease runs out and the delivery is tried again (at least once).
            log.error(
                "delivery.record_failed",
                org=delivery.org,
                endpoint=delivery.endpoint,
                event_id=delivery.event_id,
                error=repr(error),
            )
            return
        outcome = future.result()
        self._log(delivery, verdict, result, outcome, next_at)
        if outcome.applied and self._on_outcome is not None:
            self._on_outcome(delivery, verdict, result)
        if outcome.disabled_endpoint is not None:
            self._disabled.add((delivery.org, delivery.endpoint))
            self._give_back_queued((delivery.org, delivery.endpoint))

    async def _complete_batch(self, completions: Sequence[Completion]) -> list[CompletionOutcome]:
        return await self._store.complete(completions, self._clock.now())

    def _log(
        self,
        delivery: ClaimedDelivery,
        verdict: Verdict,
        result: AttemptResult,
        outcome: CompletionOutcome,
        next_at: float | None,
    ) -> None:
        fields = {
            "org": delivery.org,
            "endpoint": delivery.endpoint,
            "event_id": delivery.event_id,
            "delivery_id": delivery.id,
            "attempt": delivery.attempt,
            "status_code": result.status_code,
            "duration_ms": round(result.duration_ms, 2),
        }
        if not outcome.applied:
            log.warning("delivery.lease_lost", **fields)
        elif verdict is Verdict.DELIVERED:
            log.info("delivery.succeeded", **fields)
        elif verdict is Verdict.RETRY:
            delay = round((next_at or 0) - self._clock.now(), 3)
            log.warning("delivery.retry", error=result.error, retry_in_s=delay, **fields)
        else:
            log.error("delivery.failed", error=result.error, **fields)
        if outcome.disabled_endpoint is not None:
            log.warning(
                "endpoint.disabled",
                org=delivery.org,
                endpoint=delivery.endpoint,
                reason="410 Gone" if verdict is Verdict.GONE else "no success within disable_after",
            )
