"""``gateway replay``, ``gateway deliveries``, ``gateway send-sample``: talk to a running gateway.

They use its HTTP API (the admin API with the admin token, or a webhook route), so they
work the same against a local process and a deployment. The URL and token default to the
config file's (``--config``), ``GATEWAY_ADMIN_TOKEN`` overriding; flags override both.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from gateway.configfiles import ConfigError
from gateway.samples import DEFAULT_SAMPLE, SampleError, fill_credentials, find_fixtures, load_sample, sample_names
from gateway.settings import Settings, load_settings

COMMANDS = ("replay", "deliveries", "send-sample")
DELIVERY_STATES = ("pending", "delivered", "failed", "parked")
#: A replay window is requeued in slices (progress, and short store transactions).
MAX_SLICES = 20
MIN_SLICE_SECONDS = 3600.0
#: A checkout's own copy of the samples: what send-sample reads when no ``shared/fixtures`` is near.
REPO_FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"


class CliError(Exception):
    """Printed as ``error: ...``; the command exits with status 1."""


def add_commands(sub: Any, common: Any) -> None:
    """Register the subcommands on the ``gateway`` parser (``common`` adds --config/--routes)."""
    replay = sub.add_parser("replay", help="requeue failed deliveries: of an endpoint in a time window, or one by id")
    common(replay)
    _remote(replay)
    replay.add_argument("--org", help="the endpoint's org")
    replay.add_argument("--endpoint", help="the endpoint's name")
    replay.add_argument("--since", help="ISO 8601 date-time: deliveries created at or after it (UTC without zone)")
    replay.add_argument("--until", help="ISO 8601 date-time: ... and before it (default: now)")
    replay.add_argument("--id", type=int, help="requeue this one failed delivery instead")

    deliveries = sub.add_parser("deliveries", help="list deliveries by state")
    common(deliveries)
    _remote(deliveries)
    deliveries.add_argument("--state", choices=DELIVERY_STATES, default="failed")
    deliveries.add_argument("--org")
    deliveries.add_argument("--endpoint")
    deliveries.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    deliveries.add_argument("--json", action="store_true", help="one JSON object per line")

    sample = sub.add_parser("send-sample", help="post a fixture webhook to a running gateway (to try it out)")
    common(sample)
    _remote(sample)
    sample.add_argument("name", nargs="?", default=DEFAULT_SAMPLE, help=f"fixture name (default {DEFAULT_SAMPLE})")
    sample.add_argument("--org", default=None, help="org whose credentials to use (default: acme, else the first)")
    sample.add_argument(
        "--fixtures",
        type=Path,
        default=None,
        help="fixtures directory (default: ../shared/fixtures, else the checkout's tests/fixtures)",
    )
    sample.add_argument("--list", action="store_true", help="list the fixture names and exit")


def _remote(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url", default=None, help="the gateway (default: from the config file, http://127.0.0.1:8080)"
    )
    parser.add_argument("--token", default=None, help="admin token (default: GATEWAY_ADMIN_TOKEN, else the config's)")


def _settings(config: Path) -> Settings | None:
    try:
        return load_settings(config if config.exists() else None)
    except ConfigError:
        return None


def _base_url(args: argparse.Namespace, settings: Settings | None) -> str:
    if args.url:
        return str(args.url).rstrip("/")
    if settings is None:
        return "http://127.0.0.1:8080"
    host = settings.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    return f"http://{host}:{settings.server.port}"


class AdminClient:
    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=url, headers=headers, timeout=30.0)

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise CliError(f"cannot reach the gateway at {self.url}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            detail = body.get("detail") if isinstance(body, dict) else response.text[:200]
            raise CliError(f"{method} {path}: {response.status_code} {detail}")
        return body


def _parse_time(name: str, value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(f"--{name} must be an ISO 8601 date-time, e.g. 2025-03-14T09:00:00+05:30") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def slices(since: float, until: float) -> list[tuple[float, float]]:
    """[since, until) cut into at most ``MAX_SLICES`` consecutive pieces of at least an hour."""
    count = max(1, min(MAX_SLICES, math.ceil((until - since) / MIN_SLICE_SECONDS)))
    step = (until - since) / count
    edges = [since + i * step for i in range(count)] + [until]
    return list(itertools.pairwise(edges))


def replay(args: argparse.Namespace, client: AdminClient) -> int:
    if args.id is not None:
        view = client.call("POST", f"/v1/admin/deliveries/{args.id}/retry")
        print(f"requeued delivery {view['id']} ({view['org']}/{view['endpoint']}, {view['eventId']}): {view['state']}")
        return 0
    if not (args.org and args.endpoint and args.since):
        raise CliError("replay needs --org, --endpoint and --since (or --id)")
    since = _parse_time("since", args.since)
    until = _parse_time("until", args.until) if args.until else datetime.now(UTC)
    if until <= since:
        raise CliError("--until must be after --since")
    pieces = slices(since.timestamp(), until.timestamp())
    total = 0
    path = f"/v1/admin/endpoints/{args.org}/{args.endpoint}/recover"
    for index, (start, end) in enumerate(pieces, 1):
        lo, hi = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
        result = client.call("POST", path, json={"since": _stamp(lo), "until": _stamp(hi)})
        total += int(result["requeued"])
        print(f"[{index}/{len(pieces)}] {_stamp(lo)} .. {_stamp(hi)}: requeued {result['requeued']} (total {total})")
        sys.stdout.flush()
    print(f"replayed {total} failed deliveries of {args.org}/{args.endpoint}")
    return 0


def deliveries(args: argparse.Namespace, client: AdminClient) -> int:
    if args.limit < 1:
        raise CliError("--limit must be at least 1")
    params: dict[str, Any] = {"state": args.state}
    for name in ("org", "endpoint"):
        if getattr(args, name):
            params[name] = getattr(args, name)
    shown, cursor = 0, None
    if not args.json:
        print(f"{'ID':>8}  {'STATE':<9} {'ENDPOINT':<32} {'TRIES':>5}  {'NEXT ATTEMPT':<25} {'LAST':<4} EVENT / ERROR")
    while shown < args.limit:
        page_params = {**params, "limit": min(500, args.limit - shown), **({"cursor": cursor} if cursor else {})}
        page = client.call("GET", "/v1/admin/deliveries", params=page_params)
        for item in page["items"]:
            shown += 1
            if args.json:
                print(json.dumps(item))
                continue
            where = f"{item['org']}/{item['endpoint']}"
            last = item.get("lastStatusCode") or "-"
            error = f"  {item['lastError']}" if item.get("lastError") else ""
            next_at = item.get("nextAttemptAt") or "-"
            print(
                f"{item['id']:>8}  {item['state']:<9} {where:<32} {item['attemptCount']:>5}  {next_at:<25} "
                f"{last!s:<4} {item['eventId']}{error}"
            )
        cursor = page["next"]
        if cursor is None:
            break
    more = cursor is not None
    if not args.json:
        print(f"{shown} {args.state} deliveries" + (" (more: raise --limit)" if more else ""))
    return 0


def send_sample(args: argparse.Namespace, settings: Settings | None) -> int:
    from gateway.routing import load_routes

    try:
        fixtures = find_fixtures(args.fixtures)
    except SampleError:
        if args.fixtures is not None or not REPO_FIXTURES.is_dir():
            raise
        fixtures = find_fixtures(REPO_FIXTURES)
    if args.list:
        for name in sample_names(fixtures):
            print(name)
        return 0
    try:
        routes = load_routes(args.routes)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    org = args.org or ("acme" if routes.get("acme") else next(iter(sorted(routes.orgs)), None))
    org_routes = routes.get(org) if org else None
    if org_routes is None:
        raise CliError(f"no org {org!r} in {args.routes}")
    fixture = load_sample(fixtures, args.name)
    headers, body = fill_credentials(fixture, org_routes)
    source = fixture["source"]
    url = _base_url(args, settings)
    path = f"/v1/{org_routes.org}/webhooks/{source}"
    started = time.perf_counter()
    try:
        with httpx.Client(base_url=url, timeout=30.0) as http:
            response = http.post(path, content=json.dumps(body).encode(), headers=headers)
    except httpx.TransportError as exc:
        raise CliError(f"cannot reach the gateway at {url}: {exc} (is `gateway serve` running?)") from None
    took = (time.perf_counter() - started) * 1000
    print(f"POST {url}{path}  ({args.name}, org {org_routes.org}): {response.status_code} in {took:.0f} ms")
    print(response.text)
    if response.status_code != 200:
        return 1
    for event_id in response.json().get("eventIds", []):
        print(f"see: curl -H 'authorization: Bearer <admin token>' {url}/v1/admin/notifications/{event_id}")
    return 0


def run(args: argparse.Namespace) -> int:
    settings = _settings(args.config)
    try:
        if args.command == "send-sample":
            return send_sample(args, settings)
        token = args.token or os.environ.get("GATEWAY_ADMIN_TOKEN") or (settings.admin.token if settings else None)
        client = AdminClient(_base_url(args, settings), token)
        try:
            return replay(args, client) if args.command == "replay" else deliveries(args, client)
        finally:
            client.close()
    except (CliError, SampleError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
