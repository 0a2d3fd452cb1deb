"""Sample webhooks for ``gateway send-sample``: the shared fixtures, with an org's credentials.

A fixture (``shared/fixtures/webhooks/*.json``) has ``source``, ``headers`` whose values
are placeholders such as ``<org token>``, and ``body``; Shipway's credential is the body's
``hash``. The credentials come from the org's routes file (the first of each list).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.routing import OrgRoutes

DEFAULT_SAMPLE = "shiprocket-in-transit"


class SampleError(Exception):
    pass


def _candidates() -> list[Path]:
    repo = Path(__file__).resolve().parents[1]
    cwd = Path.cwd()
    return [cwd.parent / "shared" / "fixtures", cwd / "shared" / "fixtures", repo.parent / "shared" / "fixtures"]


def find_fixtures(explicit: Path | None = None) -> Path:
    """The ``webhooks`` fixture directory: ``explicit`` (it or its ``webhooks/``), else
    ``shared/fixtures`` next to the working directory or to this checkout."""
    for base in [explicit] if explicit is not None else _candidates():
        for directory in (base / "webhooks", base):
            if directory.is_dir() and any(directory.glob("*.json")):
                return directory
    where = explicit if explicit is not None else " or ".join(str(c) for c in _candidates())
    raise SampleError(f"no webhook fixtures found in {where} (use --fixtures DIR)")


def sample_names(directory: Path) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.json"))


def load_sample(directory: Path, name: str) -> dict[str, Any]:
    path = directory / (name if name.endswith(".json") else f"{name}.json")
    if not path.is_file():
        raise SampleError(f"no fixture {name!r} in {directory}; one of: {', '.join(sample_names(directory))}")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _first(values: tuple[Any, ...], org: str, what: str) -> Any:
    if not values:
        raise SampleError(f"org {org!r} has no {what} in its routes file")
    return values[0]


def _is_placeholder(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("<") and value.endswith(">")


def fill_credentials(fixture: dict[str, Any], routes: OrgRoutes) -> tuple[dict[str, str], Any]:
    """The fixture's headers and body with ``routes``'s credentials in place of placeholders."""
    source, body = fixture["source"], fixture["body"]
    sources, org = routes.sources, routes.org
    headers = {"content-type": "application/json"}
    for name, value in fixture.get("headers", {}).items():
        if not _is_placeholder(value):
            headers[name] = value
            continue
        lowered = name.lower()
        if source == "shiprocket":
            headers[name] = _first(sources.shiprocket.tokens, org, "[sources.shiprocket] tokens")
        elif source == "clickpost":
            headers[name] = _first(sources.clickpost.keys, org, "[sources.clickpost] keys")
        elif source == "magic":
            cred = _first(sources.magic.credentials, org, "[sources.magic] credentials")
            value = {"authusername": cred.username, "authpassword": cred.password}.get(lowered, cred.domain)
            if value is not None:
                headers[name] = value
    if source == "shipway" and isinstance(body, dict):
        body = {**body, "hash": _first(sources.shipway.hashes, org, "[sources.shipway] hashes")}
    return headers, body
