"""Fixtures: in-process HTTP sinks on 127.0.0.1, and a sender allowed to reach them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from dispatch_fakes import Sink, SinkFactory

from gateway.dispatch.sender import Sender


@pytest.fixture
async def make_sink() -> AsyncIterator[SinkFactory]:
    runners: list[web.AppRunner] = []

    async def start() -> Sink:
        sink = Sink()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", sink.handle)
        # handler_cancellation: a hanging handler ends when the client gives up, so
        # cleanup never waits for it.
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        sink.port = runner.addresses[0][1]
        return sink

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def sink(make_sink: SinkFactory) -> Sink:
    return await make_sink()


@pytest.fixture
async def sender() -> AsyncIterator[Sender]:
    """A sender allowed to reach loopback, where the sinks live."""
    s = Sender(allow_private=True)
    yield s
    await s.close()
