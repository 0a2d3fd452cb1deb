"""What each route takes and answers, registered for ``/openapi.json`` (``gateway.openapi``).

One entry per (method, path) the app can mount, including routes other modules serve
(proxy, returns, admin): a module that mounts a route may re-register it with its own
models. Registering a route that is not mounted changes nothing in the document.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from starlette.routing import Route

from gateway.api import proxy_models as proxy
from gateway.api import returns_models as returns
from gateway.api import schemas as s
from gateway.api.admin import RecoverWindow
from gateway.inbound.payloads import PAYLOADS
from gateway.models import Source
from gateway.openapi import Body, Operation, openapi_json, register
from gateway.routing import EndpointConfig

ADMIN = (("adminToken",),)
API_KEY = (("apiKey",),)
STORE = 503
PROXY_PROBLEMS = (400, 422, 501, 502, 504)

#: Credentials per webhook source (SPEC §6); shipway's `hash` lives in the body.
WEBHOOK_SECURITY: dict[Source, tuple[tuple[str, ...], ...]] = {
    Source.SHIPROCKET: (("shiprocketKey",), ("webhookQueryKey",)),
    Source.CLICKPOST: (("clickpostKey",), ("clickpostAuthorization",), ("webhookQueryKey",)),
    Source.SHIPWAY: (("webhookQueryKey",), ()),
    Source.MAGIC: (("magicUsername", "magicPassword"), ("magicUsername", "magicPassword", "magicDomain")),
}


class WebhookPath(BaseModel):
    org: str = Field(min_length=1)
    source: str = Field(json_schema_extra={"enum": [str(source) for source in WEBHOOK_SECURITY]})


def _webhooks() -> None:
    # One path serves every source; the body schema is the union of the sources' models
    # (oneOf would be wrong: they overlap), each source's credential an alternative.
    security = tuple(dict.fromkeys(alt for alts in WEBHOOK_SECURITY.values() for alt in alts))
    register(
        "POST",
        "/v1/{org}/webhooks/{source}",
        Operation(
            "Receive an aggregator's tracking webhook",
            tag="webhooks",
            description=(
                "Bodies per source: "
                + ", ".join(f"`{src}` → `{model.__name__}`" for src, model in PAYLOADS.items())
                + ". Credentials per source: shiprocket `x-api-key`; clickpost `webhook_key` or `Authorization`;"
                " shipway the body's `hash`; magic `authUsername`/`authPassword` (+ `authDomainName`);"
                " or `?key=` (shiprocket, clickpost, shipway). Answered only once the events are durable."
            ),
            path=WebhookPath,
            query=s.WebhookQuery,
            body=tuple(PAYLOADS.values()),
            responses={200: s.WebhookAck},
            problems=(400, 413, 422, STORE),
            security=security,
        ),
    )


_webhooks()

register(
    "GET",
    "/v1/{org}/shipments/{awb}",
    Operation(
        "A shipment's legs: current canonical status and history",
        tag="shipments",
        responses={200: s.Shipment},
        problems=(STORE,),
        security=API_KEY,
    ),
)

# --- operating (SPEC §11) ---------------------------------------------------------------
for _path, _summary, _answer in (
    ("/healthz", "The process is up", s.Status),
    ("/readyz", "The store answers and the workers run", s.Status),
):
    register("GET", _path, Operation(_summary, tag="operations", responses={200: _answer}, problems=(STORE,)))
register(
    "GET",
    "/metrics",
    Operation(
        "Prometheus metrics", tag="operations", responses={200: Body("text/plain", description="Prometheus text")}
    ),
)
register(
    "GET",
    "/openapi.json",
    Operation("This document", tag="operations", responses={200: Body("application/json", {"type": "object"})}),
)
register(
    "GET",
    "/ui",
    Operation(
        "The dashboard (asks for the admin token in the page)",
        tag="operations",
        responses={200: Body("text/html", description="the dashboard page")},
    ),
)
register(
    "GET",
    "/ui/assets/{name}",
    Operation(
        "The dashboard's script and stylesheet",
        tag="operations",
        responses={200: Body(("text/javascript", "text/css"), description="`dashboard.js` or `dashboard.css`")},
    ),
)

register(
    "GET",
    "/v1/admin/deliveries",
    Operation(
        "Deliveries by state",
        tag="admin",
        query=s.DeliveriesQuery,
        responses={200: s.DeliveryList},
        problems=(400, STORE),
        security=ADMIN,
    ),
)
register(
    "POST",
    "/v1/admin/deliveries/{id}/retry",
    Operation(
        "Send a failed delivery again now (its eventId kept)",
        tag="admin",
        path=s.DeliveryPath,
        responses={200: s.Delivery},
        problems=(409, STORE),
        security=ADMIN,
    ),
)
register(
    "GET",
    "/v1/admin/notifications",
    Operation(
        "Search notifications",
        tag="admin",
        query=s.NotificationsQuery,
        responses={200: s.NotificationList},
        problems=(400, STORE),
        security=ADMIN,
    ),
)
register(
    "GET",
    "/v1/admin/notifications/{event_id}",
    Operation(
        "One notification with its deliveries and their attempts",
        tag="admin",
        responses={200: s.NotificationDetail},
        problems=(STORE,),
        security=ADMIN,
    ),
)
register(
    "GET",
    "/v1/admin/endpoints",
    Operation(
        "Endpoints with their health",
        tag="admin",
        query=s.EndpointsQuery,
        responses={200: s.EndpointList},
        problems=(400, STORE),
        security=ADMIN,
    ),
)
register(
    "POST",
    "/v1/admin/endpoints/{org}/{name}/recover",
    Operation(
        "Requeue the endpoint's failed deliveries in a window",
        tag="admin",
        body=RecoverWindow,
        responses={200: s.Recovered},
        problems=(400, 413, 422, STORE),
        security=ADMIN,
    ),
)
for _verb, _what in (("disable", "Park the endpoint's deliveries"), ("enable", "Resume the endpoint, in order")):
    register(
        "POST",
        f"/v1/admin/endpoints/{{org}}/{{name}}/{_verb}",
        Operation(_what, tag="admin", responses={200: s.EndpointToggled}, problems=(STORE,), security=ADMIN),
    )
register(
    "PUT",
    "/v1/admin/endpoints/{org}/{name}",
    Operation(
        "Create (201) or replace (200) an API-owned endpoint",
        tag="admin",
        description="The fields of a routes file's `[[endpoints]]`; `name`, when sent, must equal the path's.",
        body=EndpointConfig,
        responses={200: s.EndpointHealth, 201: s.EndpointHealth},
        problems=(400, 409, 413, 422, STORE),
        security=ADMIN,
    ),
)
register(
    "DELETE",
    "/v1/admin/endpoints/{org}/{name}",
    Operation(
        "Delete an API-owned endpoint",
        tag="admin",
        responses={200: Body("application/json", {"type": "object"})},
        problems=(409, STORE),
        security=ADMIN,
    ),
)
register(
    "POST",
    "/v1/admin/reload",
    Operation(
        "Reload the routes files",
        tag="admin",
        responses={200: Body("application/json", {"type": "object"})},
        problems=(400, 422, STORE),
        security=ADMIN,
    ),
)

# --- aggregator proxy (SPEC §8) and returns (SPEC §9) -----------------------------------
register(
    "POST",
    "/v1/{org}/couriers/recommendation",
    Operation(
        "Courier recommendation",
        tag="proxy",
        body=proxy.CourierRequest,
        responses={200: s.CourierRecommendation},
        problems=(*PROXY_PROBLEMS, 413),
        security=API_KEY,
    ),
)
for _path, _summary, _body in (
    ("/v1/{org}/orders", "Create Order (Shiprocket, Shipway)", proxy.LabelRequest),
    ("/v1/{org}/labels", "Generate Shipping Label (idempotent per orderNumber and shipmentCode)", proxy.LabelRequest),
    (
        "/v1/{org}/return-awbs",
        "Generate Return AWB (idempotent per orderNumber and shipmentCode)",
        proxy.ReturnAwbRequest,
    ),
):
    register(
        "POST",
        _path,
        Operation(
            _summary,
            tag="proxy",
            body=_body,
            responses={200: s.ShipmentResult},
            # 409: the same generation is under way in another process (Retry-After).
            problems=(*PROXY_PROBLEMS, 409, 413, STORE),
            security=API_KEY,
        ),
    )
for _path, _summary in (
    ("/v1/{org}/labels/{orderId}", "Get Shipping Label"),
    ("/v1/{org}/return-awbs/{orderId}", "Get Return AWB"),
):
    register(
        "GET",
        _path,
        Operation(
            _summary,
            tag="proxy",
            responses={200: s.ShipmentResult},
            problems=(*PROXY_PROBLEMS, STORE),
            security=API_KEY,
        ),
    )
register(
    "POST",
    "/v1/{org}/returns",
    Operation(
        "Create Return Order (201; 200 on an idempotent repeat)",
        tag="returns",
        body=returns.CreateReturnOrder,
        responses={200: s.ReturnOrder, 201: s.ReturnOrder},
        problems=(*PROXY_PROBLEMS, 409, 413, STORE),
        security=API_KEY,
    ),
)
register(
    "POST",
    "/v1/{org}/returns/{code}/processing-update",
    Operation(
        "Returns Processing Update (QC results), delivered to the return's returns system",
        tag="returns",
        body=returns.ProcessingUpdate,
        responses={202: s.ProcessingAccepted},
        problems=(400, 413, 422, STORE),
        security=API_KEY,
    ),
)

#: Mounted by the app; importing this module is what registers the operations above.
ROUTES = [Route("/openapi.json", openapi_json, methods=["GET"])]
