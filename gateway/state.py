"""What the lifespan builds and every request handler sees (typed, in one place)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from starlette.requests import Request

from gateway.clock import Clock
from gateway.dispatch.dispatcher import Dispatcher
from gateway.dispatch.sender import Sender
from gateway.ingest import Ingestor
from gateway.metrics import Metrics
from gateway.routing import RouteTable
from gateway.settings import Settings
from gateway.store.base import Store

if TYPE_CHECKING:
    from gateway.api.returns_models import CreateReturnOrder
    from gateway.proxy.service import ProxyService
    from gateway.returns import GeneratedAwb
    from gateway.workers import Siblings


class ReturnAwbGenerator(Protocol):
    """Generates a return AWB through the org's aggregator account (the proxy); ``None``
    when the org has no account that can."""

    async def __call__(self, state: AppState, org: str, body: CreateReturnOrder, /) -> GeneratedAwb | None: ...


@dataclass
class AppState:
    settings: Settings
    routes: RouteTable
    clock: Clock
    metrics: Metrics
    store: Store
    ingestor: Ingestor
    sender: Sender
    dispatcher: Dispatcher
    #: Whether this process runs the dispatcher loop (``/readyz`` checks it is alive).
    dispatcher_expected: bool = True
    #: Generates a return AWB through the proxy for returns created without one;
    #: ``None`` until the proxy provides it.
    return_awb_generator: ReturnAwbGenerator | None = None
    #: The aggregator proxy (``gateway.proxy``): HTTP client, login tokens, in-flight generations.
    proxy: ProxyService | None = None
    #: The other worker processes of this gateway (``server.workers`` > 1), else ``None``.
    siblings: Siblings | None = None

    def notify_new_work(self) -> None:
        """New deliveries may be due: the dispatcher need not wait for its poll."""
        self.dispatcher.wake()
        if self.siblings is not None:
            self.siblings.wake()

    async def endpoints_changed(self) -> None:
        """An endpoint was added, replaced, removed, disabled or enabled in the store."""
        await self.dispatcher.refresh_endpoints()
        if self.siblings is not None:
            self.siblings.endpoints_changed()


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.gateway
    return state
