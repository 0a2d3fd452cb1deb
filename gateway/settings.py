"""``config/gateway.toml`` + ``GATEWAY_*`` environment → frozen settings (SPEC §3)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from gateway.configfiles import ConfigError, load_toml, validation_error
from gateway.durations import parse_duration

Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    #: Worker processes behind the port (``gateway.workers``); 1 serves in this process.
    workers: int = Field(1, ge=1, le=64)
    #: What one client may send before there is a request (``gateway.edge``): a larger head
    #: is answered 431, a slower head 408, a slower body is cut off.
    max_header_bytes: int = Field(16 * 1024, ge=1024, le=1024 * 1024)
    max_headers: int = Field(100, ge=8, le=1000)
    header_timeout: Duration = Field(10.0, gt=0)
    body_timeout: Duration = Field(30.0, gt=0)
    #: Past this many requests in progress, a request is answered 503 with Retry-After at
    #: once (health, readiness and metrics excepted).
    max_requests_in_progress: int = Field(1024, ge=1)


class StoreSettings(_Section):
    url: str = "sqlite:///var/gateway.db"
    retention: Duration = 30 * 86400.0
    #: SQLite: ingest, claims and completions from a child process (``WriterProcess``).
    writer_process: bool = True

    @model_validator(mode="after")
    def _known_scheme(self) -> StoreSettings:
        if not self.url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("store.url must start with sqlite:/// or postgresql://")
        return self


class InboundSettings(_Section):
    max_body_bytes: int = Field(1_048_576, ge=1024)
    #: How long a webhook waits for its commit before it is answered 503 with Retry-After,
    #: unacknowledged (a stalled disk or database must not outlast the sender's timeout).
    commit_timeout: Duration = Field(5.0, gt=0, le=300)


DEFAULT_RETRY_SCHEDULE = ("5s", "5m", "30m", "2h", "5h", "10h", "14h", "20h", "24h")


class DeliverySettings(_Section):
    retry_schedule: tuple[Duration, ...] = tuple(parse_duration(d) for d in DEFAULT_RETRY_SCHEDULE)
    jitter: float = Field(0.2, ge=0.0, le=1.0)
    timeout: Duration = 15.0
    allow_private_destinations: bool = False
    disable_after: Duration = 72 * 3600.0
    lease: Duration = 30.0

    @model_validator(mode="after")
    def _lease_covers_attempt(self) -> DeliverySettings:
        if self.lease < self.timeout + 5:
            raise ValueError("delivery.lease must be at least delivery.timeout + 5s")
        return self


class ProxySettings(_Section):
    timeout: Duration = 10.0


class AdminSettings(_Section):
    token: str = Field("dev-admin-token", min_length=8)


class LogSettings(_Section):
    format: Literal["json", "console", "auto"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"


class Settings(_Section):
    server: ServerSettings = ServerSettings()
    store: StoreSettings = StoreSettings()
    inbound: InboundSettings = InboundSettings()
    delivery: DeliverySettings = DeliverySettings()
    proxy: ProxySettings = ProxySettings()
    admin: AdminSettings = AdminSettings()
    log: LogSettings = LogSettings()


_SECTIONS = tuple(Settings.model_fields)
#: Short names for the most common overrides (SPEC §3 names GATEWAY_PORT).
_ALIASES = {"PORT": ("server", "port"), "HOST": ("server", "host")}


def _env_value(raw: str) -> Any:
    """Lists and booleans arrive as JSON (``["1s","2s"]``, ``true``); anything else is a string."""
    stripped = raw.strip()
    if stripped[:1] in "[{" or stripped in {"true", "false"}:
        try:
            return json.loads(stripped)
        except ValueError:
            return raw
    return raw


def env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``GATEWAY_STORE_URL`` → ``{"store": {"url": ...}}``; unknown names are an error."""
    out: dict[str, dict[str, Any]] = {}
    for name, raw in env.items():
        if not name.startswith("GATEWAY_"):
            continue
        rest = name[len("GATEWAY_") :]
        if rest in _ALIASES:
            section, key = _ALIASES[rest]
        else:
            lowered = rest.lower()
            section = next((s for s in _SECTIONS if lowered.startswith(s + "_")), "")
            key = lowered[len(section) + 1 :]
            fields = Settings.model_fields[section].annotation if section else None
            if not section or fields is None or key not in getattr(fields, "model_fields", {}):
                raise ConfigError(f"environment: {name} is not a setting (GATEWAY_<SECTION>_<KEY>)")
        out.setdefault(section, {})[key] = _env_value(raw)
    return out


def load_settings(
    config: Path | None,
    env: Mapping[str, str] | None = None,
    *,
    port: int | None = None,
    host: str | None = None,
    workers: int | None = None,
) -> Settings:
    """Defaults ← file ← ``GATEWAY_*`` environment ← command-line flags."""
    env = os.environ if env is None else env
    data: dict[str, Any] = load_toml(config, env) if config is not None else {}
    for section, values in env_overrides(env).items():
        current = data.get(section)
        data[section] = {**(current if isinstance(current, dict) else {}), **values}
    if port is not None:
        data.setdefault("server", {})["port"] = port
    if host is not None:
        data.setdefault("server", {})["host"] = host
    if workers is not None:
        data.setdefault("server", {})["workers"] = workers
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise validation_error(config or Path("(environment)"), exc) from None
