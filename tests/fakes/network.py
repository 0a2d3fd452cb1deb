"""One in-process "network" of fake aggregators: an httpx transport that hands each
request to the fake listening on its URL's port (nothing leaves the process)."""

from __future__ import annotations

import httpx

from .base import FakeAggregator


class FakeNetwork(httpx.AsyncBaseTransport):
    def __init__(self, fakes: dict[int, FakeAggregator]) -> None:
        self._transports = {port: httpx.ASGITransport(app=fake.app) for port, fake in fakes.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._transports.get(request.url.port or 0)
        if request.url.host != "127.0.0.1" or transport is None:
            raise httpx.ConnectError(f"nothing listens at {request.url.host}:{request.url.port}", request=request)
        return await transport.handle_async_request(request)
