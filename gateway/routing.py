"""``routes/<org>.toml`` → ``RouteTable``: inbound credentials, API keys, accounts, endpoints.

Routing tables are data, not Python (SPEC §4). Endpoint matching lives on ``Endpoint``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from gateway.aggregators.accounts import Account, parse_account
from gateway.configfiles import ConfigError, load_toml, validation_error
from gateway.dispatch.signing import secret_key
from gateway.models import NotificationType, ShipmentType
from gateway.secret_match import find_match

ORG_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
#: Headers every delivery carries from the gateway itself (Standard Webhooks, SPEC §7.1).
GATEWAY_HEADERS = frozenset({"webhook-id", "webhook-timestamp", "webhook-signature"})
#: An HTTP header name (RFC 9110 ``token``).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TYPE_NAMES = frozenset(t.value for t in NotificationType)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TokenList(_Model):
    tokens: tuple[str, ...] = ()


class KeyList(_Model):
    keys: tuple[str, ...] = ()


class HashList(_Model):
    hashes: tuple[str, ...] = ()


class MagicCredential(_Model):
    domain: str | None = None
    username: str = Field(min_length=1)
    password: str = Field(min_length=1)


class MagicCredentials(_Model):
    credentials: tuple[MagicCredential, ...] = ()


class SourcesConfig(_Model):
    shiprocket: TokenList = TokenList()
    clickpost: KeyList = KeyList()
    shipway: HashList = HashList()
    magic: MagicCredentials = MagicCredentials()


class ApiKey(_Model):
    key: str = Field(min_length=8)
    name: str = Field(min_length=1)
    returns_system: str | None = None


class AccountConfig(BaseModel):
    """An outbound aggregator account; the per-aggregator fields are read by its client."""

    model_config = ConfigDict(frozen=True, extra="allow")
    aggregator: Literal["shiprocket", "shipway", "clickpost", "magic"]
    default: bool = False
    base_url: str | None = None
    _typed: Account | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _validate_typed(self) -> AccountConfig:
        try:
            self._typed = parse_account(self.model_dump(exclude_unset=True))
        except ValidationError as exc:
            raise ValueError(
                "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            ) from None
        return self

    def typed(self) -> Account:
        """The account as its aggregator's model (validated at load)."""
        assert self._typed is not None
        return self._typed


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    return url


class EndpointConfig(_Model):
    """One subscriber ("Push Config"), as written in a routes file or sent to the admin API."""

    name: str
    url: str
    types: tuple[str, ...] = ("*",)
    shipment_types: tuple[ShipmentType, ...] = (ShipmentType.FORWARD, ShipmentType.RETURN)
    headers: dict[str, str] = Field(default_factory=dict)
    secret: tuple[str, ...] = ()
    # Typed: the admin API's JSON must not turn "yes" into true or "16" into 16 (TOML and
    # the store hand these over typed already).
    ordered: bool = Field(True, strict=True)
    include_stale: bool = Field(False, strict=True)
    max_in_flight: int = Field(16, ge=1, le=1024)
    rate_per_second: float | None = Field(None, gt=0, strict=True)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        # fullmatch: a "$"-anchored match lets a trailing newline through.
        if not ENDPOINT_NAME.fullmatch(v):
            raise ValueError("letters, digits, '-', '_' and '.', at most 63")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v)

    @field_validator("max_in_flight", mode="before")
    @classmethod
    def _a_number(cls, v: Any) -> Any:
        # Not strict: JSON may write 16 as 16.0.
        if isinstance(v, (str, bool)):
            raise ValueError("must be an integer")
        return v

    @field_validator("secret", mode="before")
    @classmethod
    def _secret_list(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    @field_validator("secret")
    @classmethod
    def _secrets_have_keys(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        # Refused where it is configured: a key that Standard Webhooks receivers read otherwise
        # would fail every delivery's verification; stored, it would fail to load.
        for index, secret in enumerate(v):
            try:
                secret_key(secret)
            except ValueError as exc:
                raise ValueError(f"secret {index}: {exc}") from None
        return v

    @field_validator("types")
    @classmethod
    def _types(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in v:
            if not any(fnmatchcase(name, pattern) for name in _TYPE_NAMES):
                raise ValueError(f"{pattern!r} matches no notification type")
        return v

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            # fullmatch: a "$"-anchored match lets a trailing newline through.
            if not _HEADER_NAME.fullmatch(key) or any(c in value for c in "\r\n\0"):
                raise ValueError(f"header {key!r} is not a valid HTTP header")
            if key.lower() in GATEWAY_HEADERS:
                raise ValueError(f"header {key!r} is set by the gateway on every delivery")
        return v

    def matches(self, notification_type: NotificationType, shipment_type: ShipmentType, stale: bool) -> bool:
        if stale and not self.include_stale:
            return False
        if shipment_type not in self.shipment_types:
            return False
        return any(fnmatchcase(notification_type.value, pattern) for pattern in self.types)


class ReturnsSystemConfig(_Model):
    url: str
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v)


class OrgRoutes(_Model):
    org: str
    sources: SourcesConfig = SourcesConfig()
    api_keys: tuple[ApiKey, ...] = ()
    accounts: dict[str, AccountConfig] = Field(default_factory=dict)
    endpoints: tuple[EndpointConfig, ...] = ()
    returns_systems: dict[str, ReturnsSystemConfig] = Field(default_factory=dict)

    @field_validator("org")
    @classmethod
    def _org(cls, v: str) -> str:
        if not ORG_NAME.match(v):
            raise ValueError("lower-case letters, digits, '-' and '_', at most 63")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> OrgRoutes:
        names = [e.name for e in self.endpoints]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"endpoint names must be unique: {', '.join(dupes)}")
        if sum(1 for a in self.accounts.values() if a.default) > 1:
            raise ValueError("at most one account may be default = true")
        for key in self.api_keys:
            if key.returns_system is not None and key.returns_system not in ("returns_prime", "clickpost"):
                raise ValueError(f"api key {key.name!r}: returns_system must be returns_prime or clickpost")
        return self

    def api_key(self, presented: str) -> ApiKey | None:
        return find_match(presented, [(k.key, k) for k in self.api_keys])


@dataclass(frozen=True)
class RouteTable:
    orgs: Mapping[str, OrgRoutes]
    files: Mapping[str, Path]
    #: Where the tables were read from (``POST /v1/admin/reload`` reads it again).
    directory: Path | None = None

    def get(self, org: str) -> OrgRoutes | None:
        return self.orgs.get(org)

    def __iter__(self) -> Iterator[OrgRoutes]:
        return iter(self.orgs.values())

    def secrets(self) -> Iterator[str]:
        """Every configured secret value, so tests and log scrubbing can look for them."""
        for routes in self:
            yield from routes.sources.shiprocket.tokens
            yield from routes.sources.clickpost.keys
            yield from routes.sources.shipway.hashes
            for cred in routes.sources.magic.credentials:
                yield cred.password
            for key in routes.api_keys:
                yield key.key
            for endpoint in routes.endpoints:
                yield from endpoint.secret
                yield from endpoint.headers.values()
            for account in routes.accounts.values():
                yield from account.typed().secrets()


def load_routes(directory: Path, env: Mapping[str, str] | None = None) -> RouteTable:
    """Every ``*.toml`` in ``directory``; the file name (stem) must equal its ``org``."""
    env = os.environ if env is None else env
    if not directory.is_dir():
        raise ConfigError(f"{directory}: routes directory not found")
    orgs: dict[str, OrgRoutes] = {}
    files: dict[str, Path] = {}
    problems: list[str] = []
    for file in sorted(directory.glob("*.toml")):
        try:
            data = load_toml(file, env)
            routes = OrgRoutes.model_validate(data)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        except ValidationError as exc:
            problems.append(str(validation_error(file, exc)))
            continue
        if routes.org != file.stem:
            problems.append(f"{file}: org: {routes.org!r} must match the file name {file.stem!r}")
            continue
        orgs[routes.org] = routes
        files[routes.org] = file
    if problems:
        raise ConfigError("\n".join(problems))
    return RouteTable(orgs=orgs, files=files, directory=directory)
