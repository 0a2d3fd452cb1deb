"""Typed outbound accounts, one model per aggregator (``[accounts.<alias>]``, SPEC §4).

``routing.AccountConfig`` keeps the fields it does not know; the model for its
``aggregator`` validates them at load, so ``gateway check`` reports a bad account.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def _http_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("must be an http:// or https:// URL with a host and no query")
    return url


class _Account(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    aggregator: str
    default: bool = False

    def secrets(self) -> Iterator[str]:
        """Values that must never reach a log line, an error or a response."""
        return iter(())


class _HostedAccount(_Account):
    #: Where the aggregator's API lives; never taken from a caller.
    base_url: str

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, v: str) -> str:
        return _http_url(v).rstrip("/")


class ShiprocketAccount(_HostedAccount):
    aggregator: Literal["shiprocket"]
    email: str = Field(min_length=3)
    password: str = Field(min_length=1)
    pickup_location: str = Field(min_length=1)

    def secrets(self) -> Iterator[str]:
        yield self.password


class ShipwayAccount(_HostedAccount):
    aggregator: Literal["shipway"]
    username: str = Field(min_length=3)
    license_key: str = Field(min_length=1)
    #: Used for a label when the request names no ``courierId``.
    carrier_id: str | None = None
    warehouse_id: str | None = None
    return_warehouse_id: str | None = None

    def secrets(self) -> Iterator[str]:
        yield self.license_key


class ClickpostAccount(_HostedAccount):
    aggregator: Literal["clickpost"]
    username: str = Field(min_length=1)
    key: str = Field(min_length=1)
    account_code: str | None = None

    def secrets(self) -> Iterator[str]:
        yield self.key


class MagicUrls(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    generate_label: str | None = None
    get_label: str | None = None
    generate_return_awb: str | None = None
    get_return_awb: str | None = None
    get_couriers: str | None = None

    @field_validator("*")
    @classmethod
    def _urls(cls, v: str | None) -> str | None:
        return None if v is None else _http_url(v)


class MagicAccount(_Account):
    aggregator: Literal["magic"]
    #: Its ``logisticAggregatorName``, sent in every body.
    name: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    urls: MagicUrls = MagicUrls()

    @field_validator("headers")
    @classmethod
    def _headers(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not _HEADER_NAME.match(key) or any(c in value for c in "\r\n\0"):
                raise ValueError(f"header {key!r} is not a valid HTTP header")
        return v

    def secrets(self) -> Iterator[str]:
        yield from self.headers.values()


Account = ShiprocketAccount | ShipwayAccount | ClickpostAccount | MagicAccount

_MODELS: dict[str, type[_Account]] = {
    "shiprocket": ShiprocketAccount,
    "shipway": ShipwayAccount,
    "clickpost": ClickpostAccount,
    "magic": MagicAccount,
}


def parse_account(data: dict[str, Any]) -> Account:
    """Validate one ``[accounts.<alias>]`` table by the model of its ``aggregator``."""
    model = _MODELS[str(data.get("aggregator"))]
    account: Account = model.model_validate(data)  # type: ignore[assignment]  # _MODELS holds only Account's members
    return account
