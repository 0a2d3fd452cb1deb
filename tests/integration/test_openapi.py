"""``/openapi.json`` describes every mounted route from the registered models; ``/ui`` is served."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route
from support import Gateway

from gateway import openapi
from gateway.app import create_app
from gateway.routing import RouteTable
from gateway.settings import Settings


async def _nothing(request: Any) -> Response:
    return Response()


def test_every_route_the_app_mounts_is_documented(settings: Settings, route_table: RouteTable) -> None:
    for role in ("all", "api", "dispatcher"):
        app = create_app(settings, route_table, role=role)  # type: ignore[arg-type]
        assert openapi.mounted(app.routes), role
        assert openapi.undocumented(app.routes) == [], f"register these in gateway/api/operations.py ({role})"


def test_a_route_nobody_registered_is_named_and_still_listed() -> None:
    routes = [Route("/v1/{org}/mystery", _nothing, methods=["GET", "POST"])]
    assert openapi.undocumented(routes) == [("GET", "/v1/{org}/mystery"), ("POST", "/v1/{org}/mystery")]
    assert openapi.document(routes)["paths"]["/v1/{org}/mystery"]["get"]["summary"] == "undocumented"


async def test_openapi_json_is_built_from_the_models(gateway: Gateway) -> None:
    response = await gateway.client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    assert sorted(doc["paths"]) == sorted({path for _, path in openapi.mounted(gateway.app.routes)})
    webhook = doc["paths"]["/v1/{org}/webhooks/{source}"]["post"]
    bodies = webhook["requestBody"]["content"]["application/json"]["schema"]["anyOf"]
    assert {"$ref": "#/components/schemas/ShiprocketWebhook"} in bodies
    assert set(webhook["responses"]) >= {"200", "400", "401", "404", "413", "422", "503"}
    assert webhook["responses"]["401"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    # Field names and constraints come from pydantic, not from a hand-kept copy.
    schemas = doc["components"]["schemas"]
    assert schemas["ShiprocketWebhook"]["properties"]["awb"]["description"].startswith("the AWB")
    assert schemas["WebhookAck"]["required"] == ["accepted", "duplicates", "eventIds"]
    retry = doc["paths"]["/v1/admin/deliveries/{id}/retry"]["post"]
    assert retry["security"] == [{"adminToken": []}]
    assert retry["parameters"][0]["schema"]["type"] == "integer"
    states = doc["paths"]["/v1/admin/deliveries"]["get"]["parameters"]
    assert {"name": "state", "in": "query", "required": False}.items() <= next(
        p for p in states if p["name"] == "state"
    ).items()
    assert doc["components"]["securitySchemes"]["shiprocketKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }


async def test_dashboard_page_and_assets_are_served_with_a_strict_policy(gateway: Gateway) -> None:
    page = await gateway.client.get("/ui")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/ui/assets/dashboard.js"' in page.text
    script = await gateway.client.get("/ui/assets/dashboard.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in script.text  # aggregator strings are written as text only
    css = await gateway.client.get("/ui/assets/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    missing = await gateway.client.get("/ui/assets/..%2Fapp.py")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
