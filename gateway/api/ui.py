"""``GET /ui``: the operator dashboard, a static page served from the package (no build step).

The page holds no data: it asks for the admin token, keeps it in the tab's
``sessionStorage`` and reads everything through the admin API and ``/metrics``.
"""

from __future__ import annotations

import functools
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.errors import NotFound

#: The assets the page loads, by name; nothing else under ``gateway/ui`` is served.
ASSETS = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8"}

# The page renders aggregator-supplied strings (AWBs, statuses): the policy forbids inline
# script and every other origin, so a value that slipped past textContent still cannot run.
HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


@functools.cache
def _read(name: str) -> bytes:
    return resources.files("gateway").joinpath("ui", name).read_bytes()


async def dashboard(request: Request) -> Response:
    return Response(_read("index.html"), media_type="text/html; charset=utf-8", headers=HEADERS)


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ASSETS:
        raise NotFound(f"no dashboard asset {name!r}")
    return Response(_read(name), media_type=ASSETS[name], headers=HEADERS)


ROUTES = [
    Route("/ui", dashboard, methods=["GET"]),
    Route("/ui/assets/{name}", asset, methods=["GET"]),
]
