"""Pydantic models of what the HTTP API answers and of the query strings it takes.

Field names are the wire names (camelCase, SPEC §5-§11). Handlers build their answers as
plain dicts for speed; these models are what ``/openapi.json`` publishes and what the
schemathesis test holds every answer to, so a handler that drifts from them fails a test.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from gateway.api.text_values import any_case
from gateway.api.ui import ASSETS
from gateway.field_limits import Identifier
from gateway.models import NotificationType, ShipmentType
from gateway.routing import ENDPOINT_NAME, GATEWAY_HEADERS

DeliveryState = Literal["pending", "delivered", "failed", "parked"]


class _Out(BaseModel):
    # Answers may grow fields; clients must ignore the ones they do not know.
    model_config = ConfigDict(extra="allow")


class FieldProblem(_Out):
    field: str
    message: str


class Problem(_Out):
    """RFC 9457 problem details (`application/problem+json`)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = Field(None, description="field problems, for 422")


class WebhookAck(_Out):
    accepted: int = Field(description="new notifications stored")
    duplicates: int = Field(description="resends of notifications already stored")
    eventIds: list[str]


class HistoryItem(_Out):
    eventId: str
    notificationType: str
    rawStatus: str | None
    statusTime: str | None
    receivedAt: str | None
    source: str
    stale: bool


class Leg(_Out):
    shipmentType: Literal["FORWARD", "RETURN"]
    awb: str | None
    forwardAwb: str | None
    returnOrderId: str | None
    currentStatus: str | None
    statusTime: str | None
    history: list[HistoryItem]


class Shipment(_Out):
    awb: str
    legs: list[Leg]


class Delivery(_Out):
    id: int
    eventId: str
    org: str
    endpoint: str
    state: DeliveryState
    attemptCount: int
    nextAttemptAt: str | None
    lastStatusCode: int | None = None
    lastError: str | None = None


class DeliveryList(_Out):
    items: list[Delivery]
    next: str | None = Field(description="cursor of the next page, null on the last")


class Attempt(_Out):
    at: str | None
    statusCode: int | None
    durationMs: float | None
    error: str | None
    responseExcerpt: str | None


class NotificationDelivery(_Out):
    id: int
    endpoint: str
    state: DeliveryState
    attempts: list[Attempt] = []


class Notification(_Out):
    """The §7.1 envelope fields plus `receivedAt`."""

    eventId: str
    org: str
    notificationType: str
    shipmentType: str
    forwardAwb: str | None = None
    rawStatus: str | None = None
    stale: bool | None = None
    receivedAt: str | None = None


class NotificationDetail(Notification):
    deliveries: list[NotificationDelivery] = []


class NotificationList(_Out):
    items: list[Notification]
    next: str | None


class EndpointHealth(_Out):
    org: str
    name: str
    url: str
    owner: Literal["file", "api"]
    disabled: bool
    successRate: float | None
    lastError: str | None
    backlog: int
    oldestPendingAgeSeconds: float | None


class EndpointList(_Out):
    items: list[EndpointHealth]
    next: str | None


class EndpointToggled(_Out):
    org: str
    name: str
    disabled: bool


class Recovered(_Out):
    org: str
    name: str
    requeued: int


class Status(_Out):
    status: str


#: Ids and cursors are 64-bit signed integers in both stores; a larger one would be a store
#: error (a 500), not "no such row".
MAX_ID = 2**63 - 1
MAX_LIMIT = 500


def _digits(value: object) -> object:
    # int("+5"), int(" 5 ") and int("5_000") all succeed; a query integer is its digits only.
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("must be a non-negative integer")
    return value


def iso_time(value: object) -> datetime:
    # Not pydantic's own datetime parsing: it also takes epoch numbers and "1700000000".
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string")
    try:
        # RFC 3339 allows a lower-case "t" and "z"; fromisoformat does not.
        return datetime.fromisoformat(value.upper())
    except ValueError:
        raise ValueError("must be an ISO 8601 date-time (e.g. 2025-03-14T09:00:00+05:30)") from None


# Query-string integers: digits only, however ``int()`` would read others.
PageSize = Annotated[int, Field(ge=1, le=MAX_LIMIT), BeforeValidator(_digits)]
Cursor = Annotated[int, Field(ge=0, le=MAX_ID), BeforeValidator(_digits)]
#: An ISO 8601 date-time; without an offset it is UTC.
IsoTime = Annotated[datetime, BeforeValidator(iso_time), WithJsonSchema({"type": "string", "format": "date-time"})]
NotificationTypeName = Annotated[
    NotificationType, WithJsonSchema({"type": "string", "enum": [t.value for t in NotificationType]})
]


class Page(BaseModel):
    limit: PageSize = Field(100, description="page size")
    cursor: Cursor | None = Field(None, description="the `next` of the previous page")


class DeliveriesQuery(Page):
    # Identifiers: no stored name holds a control character (and PostgreSQL text cannot).
    org: Identifier | None = None
    endpoint: Identifier | None = None
    state: DeliveryState | None = None


class NotificationsQuery(Page):
    org: Identifier | None = None
    awb: Identifier | None = None
    type: NotificationTypeName | None = Field(None, description="canonical notificationType")
    since: IsoTime | None = Field(None, description="ISO 8601; without an offset, UTC")
    until: IsoTime | None = Field(None, description="ISO 8601; without an offset, UTC")


class EndpointsQuery(Page):
    org: Identifier | None = None


class LookupQuery(BaseModel):
    accountAlias: str | None = Field(None, description="one of the org's accounts (empty: its default)")


class WebhookQuery(BaseModel):
    key: str | None = Field(None, description="the source's secret, for panels that store only a URL")


class AssetPath(BaseModel):
    name: Annotated[str, WithJsonSchema({"type": "string", "enum": sorted(ASSETS)})] = Field(
        description="a dashboard asset"
    )


class DeliveryPath(BaseModel):
    id: int = Field(ge=1, le=MAX_ID, description="delivery id")


class Courier(_Out):
    courierId: str | int | None = None
    courierName: str | None = None
    priority: int | None = None


class CourierRecommendation(_Out):
    courierData: list[Courier]


class ShipmentResult(_Out):
    """The aggregator's order, AWB and label (a replay carries `idempotent-replayed: true`)."""

    orderId: str | None = None
    orderNumber: str | None = None
    awb: str | None = None
    carrierName: str | None = None
    shippingLabelUrl: str | None = Field(None, description="absent for returns")
    aggregator: str | None = None
    accountAlias: str | None = None


class ReturnOrder(_Out):
    """The recorded return."""

    returnOrderCode: str
    forwardOrderCode: str | None = None
    awbNumber: str | None = None
    transporter: str | None = None
    returnsSystem: str | None = None
    eventId: str | None = None
    qcStatus: str | None = None


class ProcessingAccepted(_Out):
    """Stored; delivered to the return's system through the outbox."""

    returnOrderCode: str
    returnsSystem: str | None = None
    webhookId: str
    deliveryId: int | None = None
    qcStatus: str | None = None


class EndpointDeleted(_Out):
    org: str
    name: str
    deleted: bool
    failedDeliveries: int = Field(description="its deliveries still waiting, now failed")


class Reloaded(_Out):
    reloaded: bool
    orgs: list[str]
    fileEndpoints: int


# --- the PUT /v1/admin/endpoints/{org}/{name} body, as EndpointConfig validates it ----------
#: http(s) with a host (``routing._check_url``); spelled narrower than urlsplit reads it.
_URL = r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9._~-]+(:[0-9]{1,5})?([/?#].*)?$"
_TOKEN = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
_OWN_HEADERS = "^(" + "|".join(any_case(h) for h in sorted(GATEWAY_HEADERS)) + ")$"
_B64 = "[A-Za-z0-9+/]"
_B64_TAIL = f"{_B64}{{2}}(==?)?|{_B64}{{3}}=?"
#: ``whsec_`` and standard base64 of a non-empty key, padding optional (``signing.secret_key``).
_SECRET = {"type": "string", "pattern": f"^whsec_(({_B64}{{4}})+({_B64_TAIL})?|{_B64_TAIL})$"}
_TYPE_GLOBS = [*sorted(t.value for t in NotificationType), "*"]


class EndpointPath(BaseModel):
    org: str = Field(min_length=1)
    name: str = Field(pattern=ENDPOINT_NAME.pattern, description="the endpoint's name")


class EndpointBody(BaseModel):
    """The fields of a routes file's `[[endpoints]]` (SPEC §4) but `name`, which is the path's."""

    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, WithJsonSchema({"type": "string", "pattern": _URL})]
    types: list[Annotated[str, WithJsonSchema({"type": "string", "enum": _TYPE_GLOBS})]] = Field(
        ["*"], description="canonical types; `*` for all (a routes file also takes globs such as `RETURN_*`)"
    )
    shipment_types: list[ShipmentType] = [ShipmentType.FORWARD, ShipmentType.RETURN]
    headers: Annotated[
        dict[str, str],
        WithJsonSchema(
            {
                "type": "object",
                "propertyNames": {"pattern": _TOKEN, "not": {"pattern": _OWN_HEADERS}},
                "additionalProperties": {"type": "string", "pattern": "^[^\\r\\n\\u0000]*$"},
            }
        ),
    ] = Field(default_factory=dict, description="sent with every delivery (never shown back)")
    secret: Annotated[str | list[str], WithJsonSchema({"anyOf": [_SECRET, {"type": "array", "items": _SECRET}]})] = (
        Field([], description="Standard Webhooks signing secret(s), `whsec_` and base64; a list rotates")
    )
    ordered: bool = True
    include_stale: bool = False
    max_in_flight: int = Field(16, ge=1, le=1024)
    rate_per_second: float | None = Field(None, gt=0)
