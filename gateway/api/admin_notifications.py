"""``GET /v1/admin/notifications`` (search) and ``GET /v1/admin/notifications/{eventId}``.

Items are the SPEC §7.1 envelope plus ``receivedAt``; the search answers newest first,
its cursor being the acceptance order of the last item.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api.admin import delivery_json, query, require_admin, utc_epoch
from gateway.api.common import JSONResponse
from gateway.api.schemas import NotificationsQuery, iso_time
from gateway.api.shipments import iso
from gateway.errors import BadRequest, NotFound
from gateway.store.admin_types import DeliveryDetail, NotificationQuery, NotificationRecord


def parse_time(name: str, value: str | None) -> float | None:
    """An ISO 8601 query parameter as epoch seconds; without a zone it is UTC."""
    if value is None:
        return None
    try:
        return utc_epoch(iso_time(value))
    except ValueError as exc:
        raise BadRequest(f"{name} {exc}") from None


def notification_json(record: NotificationRecord) -> dict[str, Any]:
    return {**record.envelope, "receivedAt": iso(record.received_at)}


def _delivery_detail_json(detail: DeliveryDetail) -> dict[str, Any]:
    return {
        **delivery_json(detail.delivery),
        "attempts": [
            {
                "at": iso(a.at),
                "statusCode": a.status_code,
                "durationMs": round(a.duration_ms, 2) if a.duration_ms is not None else None,
                "error": a.error,
                "responseExcerpt": a.response_excerpt,
            }
            for a in detail.attempts
        ],
    }


async def search_notifications(request: Request) -> Response:
    state = require_admin(request)
    q = query(request, NotificationsQuery)
    notification_query = NotificationQuery(
        org=q.org or None,
        awb=q.awb or None,
        notification_type=q.type.value if q.type is not None else None,
        since=utc_epoch(q.since) if q.since is not None else None,
        until=utc_epoch(q.until) if q.until is not None else None,
        before_seq=q.cursor or None,
        limit=q.limit + 1,  # one more tells whether there is a next page
    )
    records = await state.store.notifications(notification_query)
    next_cursor = str(records[q.limit - 1].seq) if len(records) > q.limit else None
    records = records[: q.limit]
    return JSONResponse({"items": [notification_json(r) for r in records], "next": next_cursor})


async def get_notification(request: Request) -> Response:
    state = require_admin(request)
    event_id = request.path_params["event_id"]
    record = await state.store.notification(event_id)
    if record is None:
        raise NotFound(f"no notification {event_id!r}")
    body = notification_json(record)
    body["deliveries"] = [_delivery_detail_json(d) for d in record.deliveries]
    return JSONResponse(body)


ROUTES = [
    Route("/v1/admin/notifications", search_notifications, methods=["GET"]),
    Route("/v1/admin/notifications/{event_id}", get_notification, methods=["GET"]),
]
