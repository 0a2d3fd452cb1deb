"""Reloading the routes files while serving (``POST /v1/admin/reload``).

All or nothing for the files: a bad file raises before anything changes. Then the
file-owned endpoints are synced to the store, the route table swapped in ``AppState``, and
the dispatcher and the log scrubber refreshed.
"""

from __future__ import annotations

from typing import Any

from gateway.configfiles import ConfigError
from gateway.errors import Conflict, Unprocessable
from gateway.logs import get_logger, scrubber
from gateway.routing import RouteTable, load_routes
from gateway.state import AppState

log = get_logger("gateway.reload")


async def refresh_scrubber(state: AppState) -> None:
    """Mask every configured secret in logs: the routes files' and the API-owned endpoints'."""
    records = await state.store.endpoints()
    api_secrets = [
        value for r in records if r.owner == "api" for value in (*r.config.secret, *r.config.headers.values())
    ]
    scrubber.update([*state.routes.secrets(), *api_secrets])


def config_problems(exc: ConfigError) -> list[dict[str, Any]]:
    """``ConfigError`` lines (``file: field: message``) as problem+json ``errors``."""
    problems: list[dict[str, Any]] = []
    for line in str(exc).splitlines():
        parts = line.split(": ", 2)
        if len(parts) == 3 and parts[1] != "not valid TOML":
            problems.append({"file": parts[0], "field": parts[1], "message": parts[2]})
        else:
            problems.append({"file": parts[0] if len(parts) > 1 else None, "message": line})
    return problems


async def reload_routes(state: AppState, *, announce: bool = True) -> RouteTable:
    """Read the routes directory again and apply it; ``Unprocessable`` (nothing changed)
    when any file is bad. ``announce``: have the other workers reload too."""
    directory = state.routes.directory
    if directory is None:
        raise Conflict("this gateway's routes were not read from a directory; there is nothing to reload")
    try:
        routes = load_routes(directory)
    except ConfigError as exc:
        log.warning("routes.reload_refused", problems=str(exc))
        raise Unprocessable(f"routes not reloaded, nothing changed: {exc}", errors=config_problems(exc)) from None
    for org_routes in routes:
        await state.store.sync_file_endpoints(org_routes.org, org_routes.endpoints)
    for gone in sorted(set(state.routes.orgs) - set(routes.orgs)):
        # The org's file was removed: so are its file-owned endpoints (API-owned ones stay).
        await state.store.sync_file_endpoints(gone, [])
    state.routes = routes
    await refresh_scrubber(state)
    await state.dispatcher.refresh_endpoints()
    state.notify_new_work()
    if announce and state.siblings is not None:
        state.siblings.routes_changed()
    log.info(
        "routes.reloaded",
        orgs=sorted(routes.orgs),
        file_endpoints=sum(len(r.endpoints) for r in routes),
    )
    return routes
