"""``GET /v1/admin/notifications`` (search) and ``GET /v1/admin/notifications/{eventId}``.

Items are the SPEC §7.1 envelope plus ``receivedAt``; the search answers newest first,
its cursor being the acceptance order of the last item.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.api.admin import delivery_json, page_params, require_admin, utc_epoch
from gateway.api.common import JSONResponse
from gateway.api.shipments import iso
from gateway.errors import BadRequest, NotFound
from gateway.models import NotificationType
from gateway.store.admin_types import DeliveryDetail, NotificationQuery, NotificationRecord


def parse_time(name: str, value: str | None) -> float | None:
    """An ISO 8601 query parameter as epoch seconds; without a zone it is UTC."""
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 date-time (e.g. 2025-03-14T09:00:00+05:30)") from None
    return utc_epoch(parsed)


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
    limit, cursor = page_params(request)
    params = request.query_params
    wanted_type = params.get("type") or None
    if wanted_type is not None and wanted_type not in NotificationType.__members__:
        raise BadRequest(f"type {wanted_type!r} is not a notification type")
    query = NotificationQuery(
        org=params.get("org") or None,
        awb=params.get("awb") or None,
        notification_type=wanted_type,
        since=parse_time("since", params.get("since")),
        until=parse_time("until", params.get("until")),
        before_seq=cursor or None,
        limit=limit + 1,  # one more tells whether there is a next page
    )
    records = await state.store.notifications(query)
    next_cursor = str(records[limit - 1].seq) if len(records) > limit else None
    records = records[:limit]
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
