"""schemathesis against the live app, as ``schemathesis run --checks all`` runs it: every
operation of ``/openapi.json``, every phase (coverage, fuzzing, stateful), every check
(server errors, status codes, content types, headers, response schemas, valid data
accepted, invalid data refused, unsupported methods and ``Allow``, ignored credentials,
...), with a credential for every security scheme. Any failure fails the test.

The org ``acme`` has a default aggregator account on an in-process fake Shiprocket, so
proxy calls reach an aggregator that answers. Returns go to ``rms``, an org without an
account, whose returns are recorded as sent (with an account, a return without an AWB
must also carry what generating one needs: a rule of the org's configuration, which the
description states and no static schema can). Identifiers that must name configured
things (the org, an account alias) are pointed at them, as a client would; everything
else is generated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fakes import shiprocket
from fakes.network import FakeNetwork
from fakes.shiprocket import FakeShiprocket
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.python import asgi

from gateway import openapi
from gateway.app import create_app
from gateway.routing import load_routes
from gateway.settings import load_settings

ADMIN_TOKEN = "schemathesis-admin-0001"
API_KEY = "schemathesis-api-key-0001"
SECRET = "schemathesis-webhook-0001"
ORG = "acme"
RETURNS_ORG = "rms"
ACCOUNT = "sr-main"
ENDPOINT = "sink"
SR_PORT = 9101
ROUTES = f"""
org = "{ORG}"
[sources.shiprocket]
tokens = ["{SECRET}"]
[sources.clickpost]
keys = ["{SECRET}"]
[sources.shipway]
hashes = ["{SECRET}"]
[sources.magic]
credentials = [{{ domain = "{ORG}", username = "schemathesis", password = "{SECRET}" }}]
[[api_keys]]
key = "{API_KEY}"
name = "oms"
[[endpoints]]
name = "{ENDPOINT}"
url = "http://127.0.0.1:9/hook"
[accounts.{ACCOUNT}]
aggregator = "shiprocket"
default = true
base_url = "http://127.0.0.1:{SR_PORT}"
email = "{shiprocket.EMAIL}"
password = "{shiprocket.PASSWORD}"
pickup_location = "Primary"
"""
RETURNS_ROUTES = f"""
org = "{RETURNS_ORG}"
[[api_keys]]
key = "{API_KEY}"
name = "returns-prime"
returns_system = "returns_prime"
[returns_systems.returns_prime]
url = "http://127.0.0.1:9/qc"
"""
#: Per operation: fuzzing examples. The coverage phase adds its own deterministic cases.
EXAMPLES = 5
CONFIG = f"""
seed = 20261202
workers = 1
suppress-health-check = ["all"]
[generation]
max-examples = {EXAMPLES}
[cache]
enabled = false
[parameters]
"path.org" = "{ORG}"
[[operations]]
include-path-regex = "/returns"
parameters = {{ "path.org" = "{RETURNS_ORG}" }}
[auth.openapi.adminToken]
bearer = "{ADMIN_TOKEN}"
[auth.openapi.apiKey]
bearer = "{API_KEY}"
[auth.openapi.shiprocketKey]
api_key = "{SECRET}"
[auth.openapi.clickpostKey]
api_key = "{SECRET}"
[auth.openapi.clickpostAuthorization]
api_key = "{SECRET}"
[auth.openapi.webhookQueryKey]
api_key = "{SECRET}"
[auth.openapi.magicUsername]
api_key = "schemathesis"
[auth.openapi.magicPassword]
api_key = "{SECRET}"
[auth.openapi.magicDomain]
api_key = "{ORG}"
"""


def aim(context: Any, case: Any, kwargs: Any) -> None:
    """Name an account the org has when a body names one: any string (or number) is a
    valid alias, but only a configured one is accepted, and the returns org has none.
    Another type is a negative case, kept."""
    for values in (case.body, case.query):
        alias = values.get("accountAlias") if isinstance(values, dict) else None
        if isinstance(alias, (str, int, float)) and not isinstance(alias, bool):
            values["accountAlias"] = None if "/returns" in case.operation.path else ACCOUNT


@pytest.fixture
def api_schema(tmp_path: Path) -> Iterator[Any]:
    (tmp_path / "routes").mkdir()
    (tmp_path / "routes" / f"{ORG}.toml").write_text(ROUTES)
    (tmp_path / "routes" / f"{RETURNS_ORG}.toml").write_text(RETURNS_ROUTES)
    gateway_settings = load_settings(
        None, {"GATEWAY_STORE_URL": f"sqlite:///{tmp_path / 'gateway.db'}", "GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN}
    )
    upstream = httpx.AsyncClient(transport=FakeNetwork({SR_PORT: FakeShiprocket()}))
    # The real lifespan (store, ingest writer) runs on schemathesis's event-loop thread;
    # the dispatcher's loop stays off so no delivery attempt races the generated requests.
    app = create_app(
        gateway_settings, load_routes(tmp_path / "routes", env={}), run_dispatcher=False, proxy_http=upstream
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=SchemathesisConfig.from_str(CONFIG))
    # before_call hooks exist only globally: registered for this test alone.
    schemathesis.hook("before_call")(aim)
    try:
        yield schema
    finally:
        schemathesis.hooks.unregister(aim)
        asgi.shutdown_lifespans()


def test_schemathesis_checks_all_find_no_failure(api_schema: Any) -> None:
    failures: list[str] = []
    tested: set[str] = set()
    for event in from_schema(api_schema).execute():
        if isinstance(event, events.ScenarioFinished):
            tested.add(event.recorder.label)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        failures.append(
                            f"{event.recorder.label} [{check.name}] {failure.title}: {failure.message}\n"
                            f"    {check.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            failures.append(f"{event.label}: error {event.info.title}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            raise event.exception
    assert not sorted(set(failures)), "\n".join(sorted(set(failures)))
    # Every operation the document lists was run (the app is the one the schema came from),
    # but the document itself, which schemathesis leaves out.
    listed = {f"{method} {path}" for method, path in openapi.published(api_schema.app.routes)}
    assert listed - {"GET /openapi.json"} <= tested
