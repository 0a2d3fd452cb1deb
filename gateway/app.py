"""The application factory: ``create_app(settings, routes, *, store, clock, sender, ...)``.

Collaborators are handed in as keyword arguments, each optional (tests pass a store on a
temp file, a manual clock, a sender, ...); production passes none and gets the real ones.
Resources open in the lifespan.
"""

from __future__ import annotations

import contextlib
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal

import httpx
import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api import admin, admin_endpoints, admin_notifications, health, operations, shipments, ui, webhooks
from gateway.api import proxy as proxy_api
from gateway.api import returns as returns_api
from gateway.api.common import problem, problem_from
from gateway.clock import Clock
from gateway.dispatch.dispatcher import Dispatcher
from gateway.dispatch.sender import AttemptResult, Sender
from gateway.errors import ProblemError, RequestAborted, StoreUnavailable
from gateway.field_limits import IDENTIFIER
from gateway.ingest import Ingestor
from gateway.logs import get_logger, scrubber
from gateway.metrics import Metrics
from gateway.proxy import ProxyService
from gateway.reload import refresh_scrubber
from gateway.retention import Pruner
from gateway.returns import returns_system_targets
from gateway.returns_awb import generate_for_return
from gateway.routing import RouteTable
from gateway.settings import Settings
from gateway.state import AppState
from gateway.store.base import ClaimedDelivery, Store, Verdict
from gateway.store.factory import store_clock, store_from_url
from gateway.workers import Siblings

log = get_logger("gateway.app")

Role = Literal["all", "api", "dispatcher"]


Handler = Callable[[Request], Awaitable[Response]]


class RequestContext:
    """Binds a request id (the caller's ``x-request-id`` if sane, else a new one) to every
    log line of the request and echoes it in the response.

    ``webhook``: the handler of ``POST /v1/{org}/webhooks/{source}``, called from here
    directly, past the router and route wrappers, since webhooks are nearly all the traffic
    (docs/decisions/0007-webhook-fast-path.md); the same exception handlers still apply.
    """

    def __init__(self, app: ASGIApp, webhook: Handler | None = None) -> None:
        self.app = app
        self.webhook = webhook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id" and 0 < len(value) <= 64 and value.isascii() and value.isalnum():
                request_id = value.decode()
        if not request_id:
            request_id = f"{time.time_ns():016x}{random.getrandbits(64):016x}"
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        if self.webhook is not None and scope["method"] == "POST" and not scope.get("root_path"):
            parts = scope["path"].split("/")
            # Exactly what the route's "/v1/{org}/webhooks/{source}" matches; anything else
            # (a trailing slash, an empty segment) goes through the router as before.
            if len(parts) == 5 and parts[1] == "v1" and parts[3] == "webhooks" and parts[2] and parts[4]:
                scope["path_params"] = {"org": parts[2], "source": parts[4]}
                await self._direct(self.webhook, scope, receive, send_with_id)
                return
        if b"%" in scope["raw_path"] and (refusal := _control_characters(scope)):
            await refusal(scope, receive, send_with_id)
            return
        await self.app(scope, receive, send_with_id)

    @staticmethod
    async def _direct(handler: Handler, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await handler(request)
        except StoreUnavailable as exc:
            response = await _unavailable_handler(request, exc)
        except ProblemError as exc:
            response = await _problem_handler(request, exc)
        except RequestAborted as exc:
            log.info("webhook.aborted", received_bytes=exc.received_bytes)
            response = _ABORTED
        # Anything else reaches ServerErrorMiddleware, as from a route: a logged 500.
        await response(scope, receive, send)


_CONTROL = re.compile(IDENTIFIER.refused)


def _control_characters(scope: Scope) -> Response | None:
    """The answer to a path holding a (percent-encoded) control character: no name the
    gateway stores can hold one, so it names nothing (404). Checked once here, the same on
    both backends (PostgreSQL's text cannot even hold U+0000), instead of in each handler;
    query values are the query models' to refuse (``Identifier``)."""
    if _CONTROL.search(scope["path"]):
        return problem(404, "Not found", "no resource has a control character in its name")
    return None


async def _problem_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_from(exc)


async def _unavailable_handler(request: Request, exc: Exception) -> Response:
    return problem(
        503, StoreUnavailable.title, str(exc), headers={"retry-after": str(StoreUnavailable.retry_after_seconds)}
    )


async def _http_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {404: "Not found", 405: "Method not allowed"}
    return problem(
        exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail), headers=dict(exc.headers or {})
    )


#: The answer to a client that is gone: never sent, but the ASGI cycle wants one.
_ABORTED = Response(status_code=400)


async def _aborted_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestAborted)
    log.info("request.aborted", path=request.url.path, received_bytes=exc.received_bytes)
    return _ABORTED


async def _crash_handler(request: Request, exc: Exception) -> Response:
    log.exception("request.crashed", path=request.url.path)
    return problem(500, "Internal error", "the gateway failed to handle this request")


def create_app(
    settings: Settings,
    routes: RouteTable,
    *,
    store: Store | None = None,
    clock: Clock | None = None,
    sender: Sender | None = None,
    role: Role = "all",
    run_dispatcher: bool | None = None,
    proxy_http: httpx.AsyncClient | None = None,
    siblings: Siblings | None = None,
) -> Starlette:
    """``role``: ``all`` (default), ``api`` (no dispatcher), ``dispatcher`` (no inbound API).
    ``run_dispatcher=False`` builds the dispatcher without its loop: tests drive it with
    ``run_until_idle()``. ``proxy_http``: the client for aggregator APIs (tests pass one on
    fake aggregators); production builds its own. ``siblings``: the other worker processes
    (``gateway.workers``), when there are any."""
    store = store or store_from_url(settings.store.url, writer_process=settings.store.writer_process)
    clock = clock or store_clock(store)
    sender = sender or Sender(allow_private=settings.delivery.allow_private_destinations)
    metrics = Metrics()

    def count_delivery(delivery: ClaimedDelivery, verdict: Verdict, result: AttemptResult) -> None:
        metrics.delivery(delivery.org, delivery.endpoint, verdict.value, result.duration_ms / 1000)
        if verdict is Verdict.DELIVERED and delivery.created_at is not None:
            metrics.delivered(delivery.org, delivery.endpoint, clock.now() - delivery.created_at)

    state = AppState(
        settings=settings,
        routes=routes,
        clock=clock,
        metrics=metrics,
        store=store,
        ingestor=Ingestor(store, clock, commit_timeout=settings.inbound.commit_timeout),
        sender=sender,
        dispatcher=Dispatcher(
            store,
            sender,
            settings.delivery,
            clock,
            on_outcome=count_delivery,
            extra_targets=lambda: returns_system_targets(state),
        ),
    )
    scrubber.update(routes.secrets())
    proxy = state.proxy = ProxyService(settings.proxy, clock.now, proxy_http, metrics)
    state.return_awb_generator = generate_for_return
    pruner = Pruner(store, clock, settings.store.retention)
    start_dispatcher = role != "api" if run_dispatcher is None else run_dispatcher
    state.dispatcher_expected = start_dispatcher
    state.siblings = siblings

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await state.store.open()
        for org_routes in state.routes:
            await state.store.sync_file_endpoints(org_routes.org, org_routes.endpoints)
        await refresh_scrubber(state)  # API-owned endpoints' secrets live in the store
        state.ingestor.start()
        await proxy.open()
        if settings.delivery.allow_private_destinations:
            log.warning(
                "delivery.private_destinations_allowed",
                detail="deliveries may reach loopback and private networks; for development only",
            )
        if start_dispatcher:
            # Another process's ingest (shared store) wakes this dispatcher too.
            await state.store.listen(state.notify_new_work)
            state.dispatcher.start()
            # Pruning runs where deliveries run: with several processes, in each of them
            # (its deletes are idempotent), but never in an api-only process.
            pruner.start()
        if siblings is not None:
            siblings.attach(state)
        log.info(
            "gateway.started", orgs=sorted(state.routes.orgs), store=settings.store.url.split(":", 1)[0], role=role
        )
        try:
            yield
        finally:
            # Order matters: stop taking webhooks' writes only after the server stopped
            # accepting them; stop sending before closing the store the sends report to.
            if siblings is not None:
                siblings.detach(state)
            await pruner.stop()
            await state.dispatcher.stop(grace=settings.delivery.timeout)
            await proxy.close()  # in-flight labels are stored and announced first
            await state.ingestor.stop()
            await state.sender.close()
            await state.store.close()
            log.info("gateway.stopped")

    api_routes = [
        Route("/v1/{org}/webhooks/{source}", webhooks.receive_webhook, methods=["POST"]),
        Route("/v1/{org}/shipments/{awb}", shipments.get_shipment, methods=["GET"]),
        *proxy_api.ROUTES,
        Route("/v1/{org}/returns", returns_api.post_return, methods=["POST"]),
        Route("/v1/{org}/returns/{code}/processing-update", returns_api.post_processing_update, methods=["POST"]),
    ]
    app = Starlette(
        routes=[
            *(api_routes if role != "dispatcher" else []),
            *admin.ROUTES,
            *admin_notifications.ROUTES,
            *admin_endpoints.ROUTES,
            Route("/healthz", health.healthz, methods=["GET"]),
            Route("/readyz", health.readyz, methods=["GET"]),
            Route("/metrics", health.metrics, methods=["GET"]),
            *operations.ROUTES,
            *ui.ROUTES,
        ],
        exception_handlers={
            ProblemError: _problem_handler,
            StoreUnavailable: _unavailable_handler,
            HTTPException: _http_handler,
            RequestAborted: _aborted_handler,
            Exception: _crash_handler,
        },
        lifespan=lifespan,
    )
    app.state.gateway = state
    app.add_middleware(RequestContext, webhook=webhooks.receive_webhook if role != "dispatcher" else None)
    return app
