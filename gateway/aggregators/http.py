"""The one door to aggregator APIs: safe retries, error mapping, answers read defensively.

Upstream credentials ride in headers, query parameters or bodies built here; they are
scrubbed from every message that may reach a caller (an aggregator may echo them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx
import orjson

from gateway.aggregators.base import BadUpstream, Refused, UpstreamTimeout
from gateway.errors import NotFound

#: Most of an aggregator's message a caller sees.
MAX_MESSAGE = 500
#: Tries of a call that is safe to repeat (a GET, or a connection that never sent it).
ATTEMPTS = 2


class Upstream:
    """HTTP calls of one account of one aggregator."""

    def __init__(self, http: httpx.AsyncClient, aggregator: str, secrets: Iterable[str]) -> None:
        self.http = http
        self.aggregator = aggregator
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def scrub(self, message: str) -> str:
        for secret in self._secrets:
            message = message.replace(secret, "[redacted]")
        return message[:MAX_MESSAGE]

    async def call(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request; repeated only when it cannot have reached the aggregator twice."""
        content = None if json is None else orjson.dumps(json)
        sent_headers = {"accept": "application/json", **(headers or {})}
        if content is not None:
            sent_headers["content-type"] = "application/json"
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await self.http.request(method, url, content=content, params=params, headers=sent_headers)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                # Nothing was sent: safe to try again for any method.
                if attempt == ATTEMPTS:
                    raise BadUpstream(f"{self.aggregator}: could not connect") from None
            except httpx.TimeoutException:
                raise UpstreamTimeout(f"{self.aggregator} did not answer in time") from None
            except httpx.TransportError as exc:
                if method != "GET" or attempt == ATTEMPTS:
                    raise BadUpstream(f"{self.aggregator}: connection failed ({type(exc).__name__})") from None
        raise AssertionError("unreachable")

    def body(self, response: httpx.Response) -> Any:
        """The JSON of an answer, or 502."""
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise BadUpstream(
                f"{self.aggregator} answered {response.status_code} with a body that is not JSON"
            ) from None

    def check(self, response: httpx.Response) -> Any:
        """The JSON of a 2xx answer; a 4xx is the aggregator refusing (422), anything else 502."""
        status = response.status_code
        if 200 <= status < 300:
            return self.body(response)
        if status in (401, 403):
            raise BadUpstream(f"{self.aggregator} rejected the account's credentials ({status})")
        if 400 <= status < 500 and status != 429:
            try:
                data = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                data = None
            message = message_of(data) or f"request refused with status {status}"
            if status == 404 and response.request.method == "GET":
                # A lookup of something the aggregator does not know.
                raise NotFound(self.scrub(f"{self.aggregator}: {message}"))
            raise self.refused(message)
        raise BadUpstream(f"{self.aggregator} answered {status}")

    def refused(self, message: str) -> Refused:
        return Refused(self.scrub(f"{self.aggregator}: {message}"))

    def malformed(self, what: str) -> BadUpstream:
        return BadUpstream(f"{self.aggregator} answered without {what}")


def message_of(data: Any) -> str | None:
    """The human message in an aggregator's error body, wherever it keeps it."""
    if isinstance(data, str):
        return data.strip() or None
    if not isinstance(data, dict):
        return None
    for key in ("message", "error", "detail", "errorMessage", "response"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            extra = data.get("errors")
            if isinstance(extra, dict) and extra:
                details = "; ".join(f"{k}: {_flat(v)}" for k, v in extra.items())
                return f"{value.strip()} ({details})"
            return value.strip()
        if isinstance(value, dict):
            nested = message_of(value)
            if nested:
                return nested
    meta = data.get("meta")
    return message_of(meta) if isinstance(meta, dict) else None


def _flat(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def dig(data: Any, *path: str) -> Any:
    """``data[a][b]...`` or ``None`` when any step is missing or not an object."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
