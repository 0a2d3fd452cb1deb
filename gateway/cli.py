"""The ``gateway`` command: serve, check, migrate (here); replay, deliveries, send-sample (``cli_admin``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gateway import cli_admin
from gateway.app import Role
from gateway.configfiles import ConfigError
from gateway.routing import RouteTable, load_routes
from gateway.settings import Settings, load_settings

DEFAULT_CONFIG = Path("config/gateway.toml")
DEFAULT_ROUTES = Path("routes")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="settings file (config/gateway.toml)")
    parser.add_argument("--routes", type=Path, default=DEFAULT_ROUTES, help="routing tables directory (routes/)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway", description="rms-gateway: webhook gateway for shipping and returns"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gateway")
    _common(serve)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--host", default=None)
    serve.add_argument("--workers", type=int, default=None, help="worker processes behind the port (server.workers)")
    serve.add_argument(
        "--role",
        choices=["all", "api", "dispatcher"],
        default="all",
        help="all (default); api: accept and serve, no deliveries; dispatcher: deliveries only",
    )
    check = sub.add_parser("check", help="validate config and routes, print a summary")
    _common(check)
    migrate = sub.add_parser("migrate", help="apply pending store migrations")
    _common(migrate)
    cli_admin.add_commands(sub, _common)
    return parser


def _load(args: argparse.Namespace) -> tuple[Settings, RouteTable]:
    settings = load_settings(
        args.config,
        port=getattr(args, "port", None),
        host=getattr(args, "host", None),
        workers=getattr(args, "workers", None),
    )
    routes = load_routes(args.routes)
    return settings, routes


def _check(settings: Settings, routes: RouteTable, config: Path) -> int:
    print(f"config  {config}: ok (store {settings.store.url.split(':', 1)[0]}, port {settings.server.port})")
    for org in routes:
        sources = [name for name, creds in org.sources if any(len(v) for v in creds.model_dump().values())]
        print(
            f"org     {org.org} ({routes.files[org.org]}): sources {', '.join(sources) or '-'}; "
            f"{len(org.endpoints)} endpoint(s); {len(org.accounts)} account(s); {len(org.api_keys)} api key(s)"
        )
    if not routes.orgs:
        print("warning: no org is configured; every webhook will answer 404", file=sys.stderr)
    return 0


def _migrate(settings: Settings) -> int:
    from gateway.store.factory import store_from_url

    async def go() -> list[int]:
        store = store_from_url(settings.store.url)
        await store.open()  # open applies pending migrations
        try:
            return await store.migrate()
        finally:
            await store.close()

    asyncio.run(go())
    print(f"store {settings.store.url.split(':', 1)[0]}: schema up to date")
    return 0


def _serve(settings: Settings, routes: RouteTable, role: Role) -> int:
    from gateway import logs as gateway_logging
    from gateway.app import create_app
    from gateway.server import edge_limits, run
    from gateway.workers import Siblings

    if settings.server.workers > 1 and role == "dispatcher":
        print("error: server.workers > 1 needs role all or api (deliveries run in one worker)", file=sys.stderr)
        return 2
    gateway_logging.configure(level=settings.log.level, fmt=settings.log.format)
    if settings.server.workers == 1:
        app = create_app(settings, routes, role=role, siblings=Siblings.alone())
        run(app, host=settings.server.host, port=settings.server.port, limits=edge_limits(settings.server))
        return 0
    return _serve_workers(settings, routes, role)


def _serve_workers(settings: Settings, routes: RouteTable, role: Role) -> int:
    import shutil
    import socket
    import tempfile

    from gateway import logs as gateway_logging
    from gateway import metrics
    from gateway.app import create_app
    from gateway.server import edge_limits, run
    from gateway.workers import Siblings, Supervisor, listeners

    def worker(index: int, sock: socket.socket, siblings: Siblings) -> int:
        gateway_logging.configure(level=settings.log.level, fmt=settings.log.format, worker=index)
        metrics.share_between_processes(metrics_dir)
        app = create_app(settings, routes, role=role if index == 0 else "api", siblings=siblings)
        run(
            app,
            host=settings.server.host,
            port=settings.server.port,
            limits=edge_limits(settings.server),
            sockets=[sock],
        )
        return 0

    try:
        socks = listeners(settings.server.host, settings.server.port, settings.server.workers)
    except OSError as exc:
        # As one process under uvicorn: a message, and exit status 3 (start-up failure).
        print(f"error: cannot listen on {settings.server.host}:{settings.server.port}: {exc}", file=sys.stderr)
        return 3
    # Each worker's counters live here, so any worker's /metrics sums them all.
    metrics.remove_orphaned_dirs(Path(tempfile.gettempdir()))
    metrics_dir = Path(tempfile.mkdtemp(prefix=f"{metrics.SHARED_DIR_PREFIX}{os.getpid()}-"))
    supervisor = Supervisor(settings.server.workers, worker, socks, dispatching=0 if role == "all" else None)
    try:
        return supervisor.run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in cli_admin.COMMANDS:
        return cli_admin.run(args)
    try:
        settings, routes = _load(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check":
        return _check(settings, routes, args.config)
    if args.command == "migrate":
        return _migrate(settings)
    return _serve(settings, routes, args.role)


if __name__ == "__main__":
    sys.exit(main())
