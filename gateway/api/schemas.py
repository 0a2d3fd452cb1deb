"""Pydantic models of what the HTTP API answers and of the query strings it takes.

Field names are the wire names (camelCase, SPEC §5-§11). Handlers build their answers as
plain dicts for speed; these models are what ``/openapi.json`` publishes and what the
schemathesis test holds every answer to, so a handler that drifts from them fails a test.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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


class Page(BaseModel):
    limit: int = Field(100, ge=1, le=500, description="page size")
    cursor: str | None = Field(None, description="the `next` of the previous page")


class DeliveriesQuery(Page):
    org: str | None = None
    endpoint: str | None = None
    state: DeliveryState | None = None


class NotificationsQuery(Page):
    org: str | None = None
    awb: str | None = None
    type: str | None = Field(None, description="canonical notificationType")
    since: str | None = Field(None, description="ISO 8601")
    until: str | None = Field(None, description="ISO 8601")


class EndpointsQuery(Page):
    org: str | None = None


class WebhookQuery(BaseModel):
    key: str | None = Field(None, description="the source's secret, for panels that store only a URL")


class DeliveryPath(BaseModel):
    id: int = Field(ge=1, le=2**53, description="delivery id")


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
