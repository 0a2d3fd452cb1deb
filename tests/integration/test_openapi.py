"""``/openapi.json`` describes every mounted route from the registered models; ``/ui`` is served."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route
from support import Gateway

from gateway import openapi
from gateway.api.schemas import EndpointBody
from gateway.app import create_app
from gateway.routing import EndpointConfig, RouteTable
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
    assert sorted(doc["paths"]) == sorted({path for _, path in openapi.published(gateway.app.routes)})
    # The one webhook route is published as one path per source, each with its own credentials.
    assert "/v1/{org}/webhooks/{source}" not in doc["paths"]
    shiprocket = doc["paths"]["/v1/{org}/webhooks/shiprocket"]["post"]
    assert shiprocket["security"] == [{"shiprocketKey": []}, {"webhookQueryKey": []}]
    assert set(shiprocket["responses"]) >= {"200", "400", "401", "404", "413", "422", "503"}
    assert shiprocket["responses"]["401"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    body = shiprocket["requestBody"]["content"]["application/json"]["schema"]
    assert "`awb`: the AWB" in body["description"]
    # Field names and constraints come from pydantic, not from a hand-kept copy.
    schemas = doc["components"]["schemas"]
    assert schemas["WebhookAck"]["required"] == ["accepted", "duplicates", "eventIds"]
    retry = doc["paths"]["/v1/admin/deliveries/{id}/retry"]["post"]
    assert retry["security"] == [{"adminToken": []}]
    assert retry["parameters"][0]["schema"]["type"] == "integer"
    params = {p["name"]: p for p in doc["paths"]["/v1/admin/notifications"]["get"]["parameters"]}
    assert {"name": "type", "in": "query", "required": False}.items() <= params["type"].items()
    assert params["cursor"]["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
    assert params["since"]["schema"] == {"type": "string", "format": "date-time"}
    assert "DELIVERED" in params["type"]["schema"]["enum"]
    assert doc["components"]["securitySchemes"]["shiprocketKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }


def test_request_bodies_say_what_the_edge_adds_to_the_models() -> None:
    routes = [Route("/v1/{org}/labels", _nothing, methods=["POST"])]
    schemas = openapi.document(routes)["components"]["schemas"]
    pincode = schemas["Address"]["properties"]["zip"]
    # Ids may arrive as numbers (coerce_numbers_to_str); a trimmed string must keep a character.
    assert {"type": "number"} in pincode["anyOf"]
    assert any("pattern" in branch for branch in pincode["anyOf"])
    assert schemas["LineItem"]["properties"]["quantity"]["maximum"] == 2**64 - 1
    # Fields the model does not name are any JSON value, not "anything": parse_json refuses
    # integers past 64 bits wherever they are.
    assert schemas["LabelRequest"]["additionalProperties"] == {"$ref": "#/components/schemas/JsonValue"}


def test_the_endpoint_body_documents_every_field_of_endpoint_config_but_the_name() -> None:
    assert set(EndpointBody.model_fields) == set(EndpointConfig.model_fields) - {"name"}


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
