"""What the lifespan builds and every request handler sees (typed, in one place)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
    from gateway.proxy.service import ProxyService


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
    #: Generates a return AWB through the proxy for returns created without one
    #: (``gateway.returns.ReturnAwbGenerator``); ``None`` until the proxy provides it.
    return_awb_generator: Any = None
    #: The aggregator proxy (``gateway.proxy``): HTTP client, login tokens, in-flight generations.
    proxy: ProxyService | None = None

    def notify_new_work(self) -> None:
        """New deliveries may be due: the dispatcher need not wait for its poll."""
        self.dispatcher.wake()


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.gateway
    return state
