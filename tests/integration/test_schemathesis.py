"""schemathesis against the live app: every documented operation, examples generated from
``/openapi.json``; no answer is a 5xx and every answer matches its documented schema.

One credential (``TOKEN``) opens everything for the test org, so generated requests get
past authentication and reach the handlers' parsing and validation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway import openapi
from gateway.app import create_app
from gateway.routing import load_routes
from gateway.settings import load_settings

TOKEN = "schemathesis-token-0001"
ORG = "acme"
ENDPOINT = "sink"
ROUTES = f"""
org = "{ORG}"
[sources.shiprocket]
tokens = ["{TOKEN}"]
[sources.clickpost]
keys = ["{TOKEN}"]
[sources.shipway]
hashes = ["{TOKEN}"]
[sources.magic]
credentials = [{{ domain = "{ORG}", username = "schemathesis", password = "{TOKEN}" }}]
[[api_keys]]
key = "{TOKEN}"
name = "oms"
[[endpoints]]
name = "{ENDPOINT}"
url = "http://127.0.0.1:9/hook"
"""
HEADERS = {
    "authorization": f"Bearer {TOKEN}",
    "x-api-key": TOKEN,
    "webhook_key": TOKEN,
    "authUsername": "schemathesis",
    "authPassword": TOKEN,
    "authDomainName": ORG,
}
EXAMPLES = 25
AWB_FIELD = {"shiprocket": "awb", "shipway": "awbno", "clickpost": "waybill", "magic": "forwardAwb"}
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


@pytest.fixture
def api_schema(tmp_path: Path) -> Iterator[Any]:
    # One app per operation: schemathesis's pytest plugin ends ASGI lifespans after each test.
    tmp = tmp_path
    (tmp / "routes").mkdir()
    (tmp / "routes" / f"{ORG}.toml").write_text(ROUTES)
    gateway_settings = load_settings(
        None, {"GATEWAY_STORE_URL": f"sqlite:///{tmp / 'gateway.db'}", "GATEWAY_ADMIN_TOKEN": TOKEN}
    )
    # The real lifespan (store, ingest writer) runs on schemathesis's event-loop thread;
    # the dispatcher's loop stays off so no delivery attempt races the generated requests.
    app = create_app(gateway_settings, load_routes(tmp / "routes", env={}), run_dispatcher=False)
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    asgi.shutdown_lifespans()


def _operations() -> list[tuple[str, str]]:
    # Collected without starting anything: the same routes the fixture's app mounts.
    settings_ = load_settings(None, {"GATEWAY_STORE_URL": "sqlite:///unused.db"})
    app = create_app(settings_, load_routes(Path(__file__).parents[2] / "routes", env={}))
    return openapi.mounted(app.routes)


def _aim(case: Any) -> None:
    """Point generated requests at the test org (an unknown org is a trivial 404)."""
    params = case.path_parameters
    if params and "org" in params:
        params["org"] = ORG
        # Half the admin endpoint actions reach a real endpoint, half an unknown name.
        if "name" in params and len(str(params["name"])) % 2 == 0:
            params["name"] = ENDPOINT
    if case.operation.path == "/v1/{org}/webhooks/{source}" and isinstance(case.body, dict):
        case.body["hash"] = TOKEN
        # Generated bodies rarely carry a shipment identity; give most of them one, so
        # examples reach storage and answer 200, not only 422.
        if len(case.body) % 3:
            case.body.setdefault(AWB_FIELD[params["source"]], f"SCH{len(case.body)}")


@pytest.mark.parametrize(("method", "path"), _operations())
def test_api_answers_match_the_schema_and_are_never_5xx(api_schema: Any, method: str, path: str) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        _aim(case)
        case.call_and_validate(headers=HEADERS, checks=CHECKS)

    check()
