"""Test helpers shared by every tier: test orgs, credentials, fixtures, the app client, polling."""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from gateway.state import AppState

REPO = Path(__file__).resolve().parents[1]
#: On PYTHONPATH of every process the tests start: it refuses DNS lookups of real names.
NETGUARD = REPO / "tests" / "netguard"
#: The sample requests the tests read (``webhooks/*.json``, ``returns/*.json``): in the
#: repository, so a clone alone passes.
FIXTURES = REPO / "tests" / "fixtures"
#: More samples of the same layout, when the project's ``shared`` folder sits beside the checkout.
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"

T = TypeVar("T")

ACME_ROUTES = """
org = "acme"
[sources.shiprocket]
tokens = ["sr-acme-old-token", "sr-acme-token-0001"]
[sources.clickpost]
keys = ["cp-acme-key-0001"]
[sources.shipway]
hashes = ["sw-acme-hash-0001"]
[sources.magic]
credentials = [{ domain = "acme", username = "narvar", password = "magic-acme-pass-01" }]
[[api_keys]]
key = "acme-oms-key-0001"
name = "oms"
[[endpoints]]
name = "all"
url = "http://127.0.0.1:9/all"
[[endpoints]]
name = "returns-only"
url = "http://127.0.0.1:9/returns"
types = ["RETURN_*"]
shipment_types = ["RETURN"]
[[endpoints]]
name = "with-stale"
url = "http://127.0.0.1:9/stale"
include_stale = true
"""

BETA_ROUTES = """
org = "beta"
[sources.shiprocket]
tokens = ["sr-beta-token-0001"]
[sources.clickpost]
keys = ["cp-beta-key-0001"]
[sources.shipway]
hashes = ["sw-beta-hash-0001"]
[sources.magic]
credentials = [{ username = "narvar", password = "magic-beta-pass-01" }]
[[api_keys]]
key = "beta-oms-key-0001"
name = "oms"
"""

#: Credentials per source for the test orgs, as the fixture headers expect them.
CREDENTIALS: dict[str, dict[str, Any]] = {
    "acme": {
        "shiprocket": {"x-api-key": "sr-acme-token-0001"},
        "clickpost": {"webhook_key": "cp-acme-key-0001"},
        "shipway": {"hash": "sw-acme-hash-0001"},
        "magic": {"authUsername": "narvar", "authPassword": "magic-acme-pass-01", "authDomainName": "acme"},
        "api": {"authorization": "Bearer acme-oms-key-0001"},
    },
    "beta": {
        "shiprocket": {"x-api-key": "sr-beta-token-0001"},
        "clickpost": {"webhook_key": "cp-beta-key-0001"},
        "shipway": {"hash": "sw-beta-hash-0001"},
        "magic": {"authUsername": "narvar", "authPassword": "magic-beta-pass-01"},
        "api": {"authorization": "Bearer beta-oms-key-0001"},
    },
}


def fixture_path(name: str) -> Path:
    """The sample ``name`` (``webhooks/x.json``): the repository's copy, else the shared one."""
    for base in (FIXTURES, SHARED_FIXTURES):
        if (base / name).is_file():
            return base / name
    return FIXTURES / name  # missing: reading it names the repository's folder


def fixture_names(folder: str, pattern: str = "*.json") -> list[str]:
    """Every sample in ``folder``: the repository's, and any more the shared folder has."""
    found = {p.name for base in (FIXTURES, SHARED_FIXTURES) for p in (base / folder).glob(pattern)}
    return sorted(f"{folder}/{name}" for name in found)


def load_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_path(name).read_text())
    return data


def webhook_fixtures() -> list[str]:
    return fixture_names("webhooks")


def _not_within(timeout: float, what: str | Callable[[], str]) -> AssertionError:
    return AssertionError(f"not within {timeout:g}s: {what() if callable(what) else what}")


async def wait_until(
    predicate: Callable[[], T | Awaitable[T]],
    *,
    timeout: float,  # noqa: ASYNC109 - required: a poll without a bound is what this replaces
    what: str | Callable[[], str],
    interval: float = 0.02,
) -> T:
    """Poll ``predicate`` (plain or async) until it returns something true, and return that.

    For state that another process, thread or the loop's own callbacks bring about, where
    there is nothing to await. ``timeout`` bounds the whole wait, a hung predicate call
    included; past it, an ``AssertionError`` says ``what`` was waited for (a callable is read
    then, so it can show the last state). ``interval=0`` polls once per turn of the loop.
    ``wait_until_sync`` is the same for code that cannot await.
    """
    scope = asyncio.timeout(timeout)
    try:
        async with scope:
            while True:
                value = predicate()
                if inspect.isawaitable(value):
                    value = await value
                if value:
                    return value  # type: ignore[return-value]
                await asyncio.sleep(interval)
    except TimeoutError:
        if scope.expired():
            raise _not_within(timeout, what) from None
        raise  # the predicate's own


def wait_until_sync(
    predicate: Callable[[], T], *, timeout: float, what: str | Callable[[], str], interval: float = 0.05
) -> T:
    """``wait_until`` for a thread that cannot await (a sync test, a process's start-up): the
    predicate is tried once more at the deadline, and each call is bounded by its own means."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() >= deadline:
            raise _not_within(timeout, what)
        time.sleep(interval)  # polling, bounded by the deadline
    return value


def signed_request(org: str, source: str, body: Any) -> tuple[dict[str, str], Any]:
    """Headers and body carrying ``org``'s credential for ``source``."""
    creds = CREDENTIALS[org][source]
    if source == "shipway":
        if isinstance(body, dict):
            body = {**body, "hash": creds["hash"]}
        return {}, body
    return dict(creds), body


class Gateway:
    """The real ASGI app with its lifespan running, and an HTTP client bound to it."""

    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def state(self) -> AppState:
        state: AppState = self.app.state.gateway
        return state

    async def webhook(
        self,
        org: str,
        source: str,
        body: Any,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        auth_headers, body = signed_request(org, source, body)
        return await self.client.post(
            f"/v1/{org}/webhooks/{source}",
            content=json.dumps(body).encode(),
            headers={"content-type": "application/json", **auth_headers, **(headers or {})},
            params=params,
        )

    async def shipment(self, org: str, awb: str) -> httpx.Response:
        return await self.client.get(f"/v1/{org}/shipments/{awb}", headers=CREDENTIALS[org]["api"])
