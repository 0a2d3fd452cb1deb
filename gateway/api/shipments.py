"""``GET /v1/{org}/shipments/{awb}``: a shipment's legs, current status and history."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response

from gateway.api.common import JSONResponse, require_api_key
from gateway.errors import NotFound
from gateway.field_limits import IDENTIFIER
from gateway.state import state_of
from gateway.store.base import LegView, ReturnRecord
from gateway.values import IST


def iso(epoch: float | None) -> str | None:
    """India-time ISO 8601, the zone the aggregators speak."""
    return None if epoch is None else datetime.fromtimestamp(epoch, IST).isoformat(timespec="seconds")


def leg_json(leg: LegView, ret: ReturnRecord | None = None) -> dict[str, object]:
    return {
        "shipmentType": leg.shipment_type,
        "awb": leg.awb,
        "forwardAwb": leg.forward_awb,
        "returnOrderId": leg.return_order_id,
        "currentStatus": leg.current_status,
        "statusTime": iso(leg.status_time),
        "history": [
            {
                "eventId": h.event_id,
                "notificationType": h.notification_type,
                "rawStatus": h.raw_status,
                "statusTime": iso(h.status_time),
                "receivedAt": iso(h.received_at),
                "source": h.source,
                "stale": h.stale,
            }
            for h in leg.history
        ],
        "returnOrder": None
        if ret is None
        else {"returnOrderCode": ret.return_order_code, "returnsSystem": ret.returns_system, "qcStatus": ret.qc_status},
    }


async def get_shipment(request: Request) -> Response:
    state = state_of(request)
    org = request.path_params["org"]
    routes = state.routes.get(org)
    if routes is None:
        raise NotFound(f"unknown org {org!r}")
    require_api_key(request, routes)
    awb = request.path_params["awb"]
    # An AWB over the identifier limit names no stored leg (and PostgreSQL refuses U+0000).
    legs = await state.store.shipment(org, awb) if IDENTIFIER.fits(awb) else []
    if not legs:
        raise NotFound(f"no shipment with AWB {awb!r}")
    returns = {r.leg_id: r for r in await state.store.returns_for_legs(org, [leg.leg_id for leg in legs])}
    return JSONResponse({"awb": awb, "legs": [leg_json(leg, returns.get(leg.leg_id)) for leg in legs]})
