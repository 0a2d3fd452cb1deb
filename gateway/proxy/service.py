"""The proxy's operations, shared by the HTTP handlers and the returns feature.

Each operation picks the account (``accountAlias``, else the org's default), runs the
aggregator call under one total deadline (``[proxy] timeout``) and logs ``proxy.call``.
Label and return-AWB generation happen once per ``(org, orderNumber, shipmentCode)``: the
store keeps the first result, repeats answer it without an upstream call, and concurrent
identical requests share one call (``SingleFlight``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from gateway.aggregators.accounts import Account, ClickpostAccount, MagicAccount, ShiprocketAccount, ShipwayAccount
from gateway.aggregators.base import AggregatorClient, LabelResult, Operation, UpstreamTimeout
from gateway.aggregators.clickpost import ClickpostClient
from gateway.aggregators.http import Upstream
from gateway.aggregators.magic import MagicClient
from gateway.aggregators.shiprocket import ShiprocketClient, TokenCache
from gateway.aggregators.shipway import ShipwayClient
from gateway.api.proxy_models import CourierRequest, LabelRequest, ReturnAwbRequest
from gateway.errors import InProgress, NotFound, ProblemError, Unprocessable
from gateway.logs import get_logger
from gateway.metrics import Metrics
from gateway.proxy.events import awb_generated
from gateway.proxy.singleflight import SingleFlight
from gateway.routing import OrgRoutes
from gateway.settings import ProxySettings

if TYPE_CHECKING:
    from gateway.state import AppState

log = get_logger("gateway.proxy")

T = TypeVar("T")
Result = dict[str, Any]

#: Kinds of stored results (the store's ``labels`` table).
LABEL, RETURN_AWB, ORDER = "label", "return_awb", "order"
#: ``gateway_proxy_calls_total`` outcome by the status answered.
OUTCOMES = {200: "ok", 404: "not_found", 422: "refused", 501: "unsupported", 502: "bad_upstream", 504: "timeout"}


class ProxyService:
    """What the proxy keeps between requests: the HTTP client, login tokens, flights."""

    def __init__(
        self,
        settings: ProxySettings,
        now: Callable[[], float],
        http: httpx.AsyncClient | None = None,
        metrics: Metrics | None = None,
    ):
        self.timeout = settings.timeout
        #: How long a generation's cross-process claim lasts: a generation is a few upstream
        #: calls (log in, create, assign), each within ``timeout``; a holder that died frees
        #: the key after this.
        self.claim_seconds = max(60.0, 6 * settings.timeout)
        self.metrics = metrics
        self._http = http
        self._owns_http = http is None
        self.tokens = TokenCache(now)
        self.flights: SingleFlight[tuple[Result, bool]] = SingleFlight()

    async def open(self) -> None:
        if self._http is None:
            # No proxy variables from the environment, no redirects: hosts come from config.
            self._http = httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=httpx.Timeout(self.timeout))

    async def close(self) -> None:
        await self.flights.drain()
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    def client(self, org: str, alias: str, account: Account) -> AggregatorClient:
        assert self._http is not None, "ProxyService.open() was not called"
        upstream = Upstream(self._http, account.aggregator, account.secrets())
        if isinstance(account, ShiprocketAccount):
            return ShiprocketClient(upstream, account, self.tokens, f"{org}/{alias}")
        if isinstance(account, ShipwayAccount):
            return ShipwayClient(upstream, account)
        if isinstance(account, ClickpostAccount):
            return ClickpostClient(upstream, account)
        assert isinstance(account, MagicAccount)
        return MagicClient(upstream, account)

    async def call(self, org: str, alias: str, account: Account, operation: str, work: Awaitable[T]) -> T:
        """Run one aggregator operation under the deadline, logging ``proxy.call``."""
        started = time.perf_counter()
        status = 200
        try:
            async with asyncio.timeout(self.timeout):
                return await work
        except TimeoutError:
            status = UpstreamTimeout.status
            raise UpstreamTimeout(f"{account.aggregator} did not answer within {self.timeout:g}s") from None
        except ProblemError as exc:
            status = exc.status
            raise
        except BaseException:
            status = 500
            raise
        finally:
            seconds = time.perf_counter() - started
            if self.metrics is not None:
                self.metrics.proxy_call(account.aggregator, operation, OUTCOMES.get(status, "error"), seconds)
            log.info(
                "proxy.call",
                org=org,
                aggregator=account.aggregator,
                account=alias,
                operation=operation,
                status=status,
                duration_ms=round(seconds * 1000, 1),
            )


def _service(state: AppState) -> ProxyService:
    assert state.proxy is not None, "the proxy service is built by create_app"
    return state.proxy


def _routes(state: AppState, org: str) -> OrgRoutes:
    routes = state.routes.get(org)
    if routes is None:
        raise NotFound(f"unknown org {org!r}")
    return routes


def select_account(routes: OrgRoutes, alias: str | None) -> tuple[str, Account]:
    """The named account, else the org's default; 422 naming ``accountAlias`` otherwise."""
    if alias is None:
        alias = next((name for name, acc in routes.accounts.items() if acc.default), None)
        if alias is None:
            raise Unprocessable(
                "no accountAlias given and the org has no default account",
                errors=[{"field": "accountAlias", "message": "is required: the org has no default account"}],
            )
    config = routes.accounts.get(alias)
    if config is None:
        raise Unprocessable(
            f"unknown account {alias!r}", errors=[{"field": "accountAlias", "message": "no such account"}]
        )
    return alias, config.typed()


def result_json(result: LabelResult, order_number: str | None, account: Account, alias: str, kind: str) -> Result:
    out: Result = {
        "orderId": result.order_id,
        "orderNumber": order_number or result.order_number,
        "awb": result.awb,
        "carrierName": result.carrier_name,
    }
    if kind != RETURN_AWB:
        out["shippingLabelUrl"] = result.shipping_label_url
    out["aggregator"] = account.aggregator
    out["accountAlias"] = alias
    return out


async def recommend(state: AppState, org: str, request: CourierRequest) -> Result:
    alias, account = select_account(_routes(state, org), request.accountAlias)
    service = _service(state)
    client = service.client(org, alias, account)
    couriers = await service.call(org, alias, account, Operation.RECOMMEND, client.recommend(request))
    return {
        "courierData": [
            {"courierId": c.courier_id, "courierName": c.courier_name, "priority": c.priority} for c in couriers
        ]
    }


async def _once(state: AppState, org: str, kind: str, request: LabelRequest, alias: str | None) -> tuple[Result, bool]:
    """The stored result for the shipment, or the one new generation; ``(result, replayed)``."""
    routes = _routes(state, org)
    alias, account = select_account(routes, alias)
    number, code = request.orderDetails.orderNumber, request.orderDetails.shipmentCode
    service = _service(state)
    operation = {LABEL: Operation.GENERATE_LABEL, RETURN_AWB: Operation.GENERATE_RETURN_AWB}.get(
        kind, Operation.CREATE_ORDER
    )
    stored = await state.store.label(org, kind, number, code)
    if stored is not None:
        log.info("proxy.replayed", org=org, operation=operation, order_number=number, shipment_code=code)
        await _announce(state, org, kind, request, stored, account)
        return stored, True

    async def generate() -> tuple[Result, bool]:
        # The single flight covers this process; the claim covers the others (workers,
        # replicas), so a retry landing elsewhere does not book a second AWB.
        token, now = uuid.uuid4().hex, state.clock.now()
        if not await state.store.claim_label(org, kind, number, code, token, now, now + service.claim_seconds):
            raise InProgress(f"this {kind.replace('_', ' ')} for order {number} is being generated by another request")
        try:
            return await generate_claimed()
        finally:
            await state.store.release_label_claim(org, kind, number, code, token)

    async def generate_claimed() -> tuple[Result, bool]:
        again = await state.store.label(org, kind, number, code)
        if again is not None:  # finished between our look and this flight
            await _announce(state, org, kind, request, again, account)
            return again, True
        client = service.client(org, alias, account)
        if isinstance(request, ReturnAwbRequest):
            work: Awaitable[LabelResult] = client.generate_return_awb(request)
        elif kind == ORDER:
            work = client.create_order(request)
        else:
            created = await state.store.label(org, ORDER, number, code)
            created_id = created.get("orderId") if created and created.get("accountAlias") == alias else None
            work = client.generate_label(request, created_id)
        result = await service.call(org, alias, account, operation, work)
        out = result_json(result, number, account, alias, kind)
        saved, new = await state.store.save_label(org, kind, number, code, out["orderId"], out, state.clock.now())
        await _announce(state, org, kind, request, saved, account)
        return saved, not new

    (result, replayed), leader = await service.flights.do((org, kind, number, code), generate)
    return result, replayed or not leader


async def _announce(
    state: AppState, org: str, kind: str, request: LabelRequest, result: Result, account: Account
) -> None:
    """``AWB_GENERATED`` for a label or return AWB, on every answer, replays included.

    The label is saved before its event, in another transaction: if the event's write
    fails, the caller gets a 503 and retries, and that retry is a replay. Emitting on
    replays too is what keeps the event from being lost then; an event already stored is
    a duplicate (same leg, code and absent time) and adds no second notification.
    """
    if kind == ORDER:
        return
    ingested = await state.ingestor.ingest(org, [awb_generated(request, result, account)])
    if ingested.accepted:
        state.notify_new_work()


async def create_order(
    state: AppState, org: str, request: LabelRequest, *, account_alias: str | None
) -> tuple[Result, bool]:
    """Create Order (Shiprocket, Shipway; others answer 501), once per shipment."""
    return await _once(state, org, ORDER, request, account_alias)


async def generate_label(
    state: AppState, org: str, request: LabelRequest, *, account_alias: str | None
) -> tuple[Result, bool]:
    return await _once(state, org, LABEL, request, account_alias)


async def generate_return_awb(
    state: AppState, org: str, request: ReturnAwbRequest, *, account_alias: str | None
) -> tuple[Result, bool]:
    """Generate (once) the return AWB of ``request``'s return; ``(result, replayed)``.

    For callers inside the gateway (the returns feature) as much as for the HTTP route:
    the result is stored per ``(org, orderNumber, shipmentCode)``, a repeat answers it, and
    a new AWB emits ``AWB_GENERATED`` (``shipmentType`` RETURN, ``returnOrderId`` =
    ``orderNumber``). Raises ``ProblemError`` subclasses (422, 501, 502, 504, ...).
    """
    return await _once(state, org, RETURN_AWB, request, account_alias)


async def lookup(state: AppState, org: str, kind: str, order_id: str, *, account_alias: str | None) -> Result:
    """Get Shipping Label / Get Return AWB: from the store when it has it, else upstream."""
    stored = await state.store.label_by_order_id(org, kind, order_id)
    if stored is not None and (kind == RETURN_AWB or stored.get("shippingLabelUrl")):
        return stored
    routes = _routes(state, org)
    alias, account = select_account(routes, account_alias or (stored or {}).get("accountAlias"))
    service = _service(state)
    client = service.client(org, alias, account)
    if kind == RETURN_AWB:
        result = await service.call(org, alias, account, Operation.GET_RETURN_AWB, client.get_return_awb(order_id))
    else:
        result = await service.call(org, alias, account, Operation.GET_LABEL, client.get_label(order_id))
    fresh = result_json(result, None, account, alias, kind)
    if stored is None:
        return fresh
    # The stored AWB stands; only a label generated since is new.
    return {**stored, "shippingLabelUrl": fresh.get("shippingLabelUrl")}
