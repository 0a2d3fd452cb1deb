"""Stopping the dispatcher while a claim is under way gives that claim's leases back."""

from __future__ import annotations

import asyncio
from typing import Any

from helpers import T0, endpoint, event, ingest_one

from gateway.clock import ManualClock
from gateway.dispatch.dispatcher import Dispatcher
from gateway.dispatch.sender import Sender
from gateway.settings import DeliverySettings
from gateway.store.base import ClaimedDelivery, Store

NOW = T0 + 1000


class SlowToAnswer:
    """The store, except that a claim's answer reaches the dispatcher only when let through:
    the claim has committed on the store's side, its caller has not seen it yet."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.claimed = asyncio.Event()
        self.let_through = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def claim(self, now: float, free: dict[tuple[str, str], int], lease: float) -> list[ClaimedDelivery]:
        result = await self._store.claim(now, free, lease)
        if result:
            self.claimed.set()
            await self.let_through.wait()
        return result


async def test_stop_during_a_claim_releases_what_it_claimed(store: Store) -> None:
    await store.sync_file_endpoints("acme", [endpoint("hook")])
    await ingest_one(store, event("A1"))
    slow = SlowToAnswer(store)
    sender = Sender(allow_private=True)
    dispatcher = Dispatcher(slow, sender, DeliverySettings(), ManualClock(NOW))  # type: ignore[arg-type]
    try:
        dispatcher.start()
        async with asyncio.timeout(10):
            await slow.claimed.wait()
            stopping = asyncio.create_task(dispatcher.stop(grace=5))
            await asyncio.sleep(0)  # stop() is under way while the claim's answer is still out
            slow.let_through.set()
            await stopping
    finally:
        await sender.close()
    # Released, not left to run out: the delivery can be claimed again at once, and the
    # stopped attempt did not count as one.
    [again] = await store.claim(NOW, {("acme", "hook"): 5}, 30.0)
    assert again.attempt == 1
