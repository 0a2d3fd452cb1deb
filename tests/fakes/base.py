"""What every fake aggregator shares: recorded calls and switchable misbehaviour.

A fake is a Starlette app: tests mount it in process with ``httpx.ASGITransport``;
``python -m tests.fakes.run`` serves it on 127.0.0.1 for local development.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

#: ``refuse``: the aggregator's own way of saying no; ``hang``: never answers;
#: ``garbage``: 200 with a body that is not JSON; ``down``: 503.
Mode = Literal["refuse", "hang", "garbage", "down"] | None


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeAggregator:
    calls: list[Call] = field(default_factory=list)
    mode: Mode = None
    #: While set and not released, every call waits here (to line up concurrent requests).
    hold: asyncio.Event | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def routes(self) -> list[Route]:
        raise NotImplementedError

    @property
    def app(self) -> Starlette:
        return Starlette(routes=self.routes())

    def next_id(self) -> int:
        return next(self._ids)

    def to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    async def record(self, request: Request) -> tuple[Call, Response | None]:
        """Record the call; a response when a switched-on misbehaviour answers instead."""
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        call = Call(request.method, request.url.path, dict(request.query_params), dict(request.headers), body)
        self.calls.append(call)
        if self.hold is not None:
            await self.hold.wait()
        if self.mode == "hang":
            await asyncio.Event().wait()
        if self.mode == "garbage":
            return call, PlainTextResponse("<html><body>502 Bad Gateway</body></html>", media_type="text/html")
        if self.mode == "down":
            return call, JSONResponse({"message": "service unavailable"}, status_code=503)
        return call, None


def label_url(kind: str, ident: object) -> str:
    # Label URLs are data the gateway passes on, never fetches; an IP literal all the same.
    return f"http://127.0.0.1:9/{kind}/{ident}.pdf"
