"""What the lifespan builds and every request handler sees (typed, in one place)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from starlette.requests import Request

from gateway.clock import Clock
from gateway.ingest import Ingestor
from gateway.metrics import Metrics
from gateway.routing import RouteTable
from gateway.settings import Settings
from gateway.store.base import Store


@dataclass
class AppState:
    settings: Settings
    routes: RouteTable
    clock: Clock
    metrics: Metrics
    store: Store
    ingestor: Ingestor
    #: Set when new deliveries may be due, so the dispatcher need not wait for its poll.
    new_work: asyncio.Event = field(default_factory=asyncio.Event)

    def notify_new_work(self) -> None:
        self.new_work.set()


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.gateway
    return state
