"""What each route takes and answers, registered for ``/openapi.json`` (``gateway.openapi``).

One entry per (method, path) the app can mount, including routes other modules serve
(proxy, returns, admin): a module that mounts a route may re-register it with its own
models. Registering a route that is not mounted changes nothing in the document.
"""

from __future__ import annotations

from starlette.routing import Route

from gateway.api import proxy_models as proxy
from gateway.api import returns_models as returns
from gateway.api import schemas as s
from gateway.api.admin import RecoverWindow
from gateway.api.body_rules import NO_RETURN_CODE, RETURN_IDENTIFIED
from gateway.api.webhook_bodies import BODIES
from gateway.inbound.payloads import PAYLOADS
from gateway.models import Source
from gateway.openapi import Body, Operation, expand, openapi_json, register

ADMIN = (("adminToken",),)
API_KEY = (("apiKey",),)
STORE = 503
PROXY_PROBLEMS = (400, 422, 501, 502, 504)

#: Credentials per webhook source (SPEC §6), each alternative the schemes it needs together.
#: Shipway's other credential is the body's ``hash``, which no security scheme can name.
WEBHOOK_SECURITY: dict[Source, tuple[tuple[str, ...], ...]] = {
    Source.SHIPROCKET: (("shiprocketKey",), ("webhookQueryKey",)),
    Source.CLICKPOST: (("clickpostKey",), ("clickpostAuthorization",), ("webhookQueryKey",)),
    Source.SHIPWAY: (("webhookQueryKey",), ()),
    Source.MAGIC: (("magicUsername", "magicPassword", "magicDomain"), ("magicUsername", "magicPassword")),
}
_CREDENTIALS = {
    Source.SHIPROCKET: "header `x-api-key`, or `?key=`",
    Source.CLICKPOST: "header `webhook_key` or `Authorization`, or `?key=`",
    Source.SHIPWAY: "the body's `hash`, or `?key=`",
    Source.MAGIC: "headers `authUsername`, `authPassword` and, when the org's credential names a domain,"
    " `authDomainName`",
}


def _webhooks() -> None:
    # One route serves every source; each is documented as its own path, with its body and
    # its credentials (an unknown source is a 404).
    route = "/v1/{org}/webhooks/{source}"
    expand("POST", route, (route.replace("{source}", str(source)) for source in WEBHOOK_SECURITY))
    for source, security in WEBHOOK_SECURITY.items():
        register(
            "POST",
            route.replace("{source}", str(source)),
            Operation(
                f"Receive a {PAYLOADS[source].__name__.removesuffix('Webhook')} tracking webhook",
                tag="webhooks",
                description=f"Credentials: {_CREDENTIALS[source]}. Answered only once the events are durable;"
                " a body naming no shipment, or with a value over the field limits, is a 422.",
                body=Body("application/json", BODIES[source]),
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
        path=s.AssetPath,
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
        description="The fields of a routes file's `[[endpoints]]`. The name is the path's: a body `name`"
        " is accepted only when it equals it, so the documented body leaves it out.",
        path=s.EndpointPath,
        body=s.EndpointBody,
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
        responses={200: s.EndpointDeleted},
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
        responses={200: s.Reloaded},
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
            query=s.LookupQuery,
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
        description="Omni (`returnOrderCode`, `forwardOrderCode`, `orderItems`) or RMS (`orderDetails` with"
        " `orderNumber`, `forwardOrderNumber`, `orderLineItemList`) shape. Without `awbNumber`, an org with an"
        " aggregator account generates the return AWB, so the body must also carry what Generate Return AWB"
        " needs (addresses, `shipmentDimension`, a reason): else 422, naming the fields.",
        body=returns.CreateReturnOrder,
        body_rules=RETURN_IDENTIFIED,
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
        description="`returnOrderCode` is the path's; a body copy is accepted only when it equals it, so the"
        " documented body leaves it out. 422 when the return's returns system is not configured.",
        body=returns.ProcessingUpdate,
        body_rules=NO_RETURN_CODE,
        responses={202: s.ProcessingAccepted},
        problems=(400, 413, 422, STORE),
        security=API_KEY,
    ),
)

#: Mounted by the app; importing this module is what registers the operations above.
ROUTES = [Route("/openapi.json", openapi_json, methods=["GET"])]
