"""The gateway under test: its files, its process (``tests/acceptance/procs.py``), its outbox.

Every scenario writes its own ``gateway.toml`` (a short delivery timeout and retry schedule,
so a drain takes seconds; a short lease, so a dead process's deliveries are taken over
quickly) and ``routes/acme.toml`` (the endpoints it needs, pointed at the sink), then runs
the real ``gateway serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import tomllib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from faultload import ORG
from procs import GatewayProcess, children
from support import CREDENTIALS, wait_until

#: The attempt deadline and the lease it allows (settings: lease >= timeout + 5 s).
TIMEOUT = "1s"
LEASE = "6s"
RETRY_SCHEDULE = ("250ms", "500ms", "500ms")
ADMIN = {"authorization": "Bearer dev-admin-token"}
ENV = {"GATEWAY_DELIVERY_ALLOW_PRIVATE_DESTINATIONS": "true"}


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    ordered: bool = True
    max_in_flight: int = 16


def write_files(
    workdir: Path,
    endpoints: Sequence[Endpoint],
    *,
    store_url: str | None = None,
    retry_schedule: Sequence[str] = RETRY_SCHEDULE,
    extra: str = "",
) -> Path:
    """``gateway.toml`` and ``routes/acme.toml`` in ``workdir``; returns the routes file."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "routes").mkdir(exist_ok=True)
    schedule = ", ".join(f'"{d}"' for d in retry_schedule)
    store = f'[store]\nurl = "{store_url or "sqlite:///data/gateway.db"}"\n'
    (workdir / "gateway.toml").write_text(
        f'{store}[delivery]\ntimeout = "{TIMEOUT}"\nlease = "{LEASE}"\nallow_private_destinations = true\n'
        f"retry_schedule = [{schedule}]\njitter = 0\n{extra}"
    )
    token = CREDENTIALS[ORG]["shiprocket"]["x-api-key"]
    blocks = "".join(
        f'[[endpoints]]\nname = "{e.name}"\nurl = "{e.url}"\nordered = {str(e.ordered).lower()}\n'
        f"max_in_flight = {e.max_in_flight}\n"
        for e in endpoints
    )
    routes = workdir / "routes" / f"{ORG}.toml"
    routes.write_text(f'org = "{ORG}"\n[sources.shiprocket]\ntokens = ["{token}"]\n{blocks}')
    return routes


def endpoint_paths(routes: Path) -> dict[str, tuple[str, bool]]:
    """Endpoint name -> (its URL's path, whether the routes file marks it ``ordered``)."""
    table = tomllib.loads(routes.read_text())
    return {e["name"]: (httpx.URL(e["url"]).path, e.get("ordered", True)) for e in table.get("endpoints", ())}


async def failed_attempts(base: str, event_ids: Iterable[str]) -> set[tuple[str, str]]:
    """(endpoint name, event id) of the deliveries among ``event_ids``'s that the gateway
    recorded a failed attempt of (an error, or a status other than 2xx)."""
    found: set[tuple[str, str]] = set()
    async with httpx.AsyncClient(base_url=base, headers=ADMIN, timeout=5) as client:
        for event_id in event_ids:
            response = await client.get(f"/v1/admin/notifications/{event_id}")
            response.raise_for_status()
            for delivery in response.json()["deliveries"]:
                if any(a["error"] is not None for a in delivery["attempts"]):
                    found.add((delivery["endpoint"], event_id))
    return found


def gateway(workdir: Path, env: Mapping[str, str] | None = None) -> GatewayProcess:
    return GatewayProcess(workdir, env={**ENV, **(env or {})})


def pid_of(proc: GatewayProcess) -> int:
    assert proc.proc is not None
    return proc.proc.pid


def writer_child(proc: GatewayProcess) -> int | None:
    """The SQLite writer process (``store.writer_process``), the gateway's only child, if
    one is running."""
    found = children(pid_of(proc))
    assert len(found) <= 1, f"more than one child: {found}"
    return found[0] if found else None


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


@contextlib.asynccontextmanager
async def peak_rss(pid: int) -> AsyncIterator[Callable[[], float]]:
    """Sample ``pid``'s RSS every 50 ms while the block runs; yields a reader of the growth."""
    base = rss_mb(pid)
    peak = [base]

    async def sample() -> None:
        while True:
            peak[0] = max(peak[0], rss_mb(pid))
            await asyncio.sleep(0.05)  # sampling another process's memory

    task = asyncio.create_task(sample())
    try:
        yield lambda: peak[0] - base
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def backlog(base: str, names: Sequence[str]) -> dict[str, int]:
    """Pending and parked deliveries of ``names``, as the admin API counts them."""
    async with httpx.AsyncClient(base_url=base, headers=ADMIN, timeout=5) as client:
        response = await client.get("/v1/admin/endpoints", params={"org": ORG, "limit": "100"})
    response.raise_for_status()
    return {e["name"]: e["backlog"] for e in response.json()["items"] if e["name"] in names}


async def drain(base: str, names: Sequence[str], seconds: float) -> float:
    """Wait (polling, bounded) until no delivery of ``names`` is pending; return how long it took."""
    start = time.monotonic()
    left: dict[str, int] = {}

    async def drained() -> bool:
        nonlocal left
        try:
            left = await backlog(base, names)
        except httpx.HTTPError:
            left = {"(admin api)": -1}
        return set(left) == set(names) and not any(left.values())

    await wait_until(drained, timeout=seconds, interval=0.2, what=lambda: f"the outbox drained: {left} left")
    return time.monotonic() - start
