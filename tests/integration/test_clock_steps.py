"""A wall-clock step back across a restart (SQLite: the host's clock) strands no retry.

Within one process the store's clock never steps (``SteadyClock``, tests/unit/test_clock.py);
a process started while the host's clock was an hour fast stores its schedule an hour
ahead, and the process after it, on the corrected clock, rebases that schedule before its
first claim. The manual clocks stand for the two processes' clocks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from sinks import Sink, SinkFactory

from gateway.clock import ManualClock
from gateway.dispatch.sender import Sender
from gateway.routing import RouteTable, load_routes
from gateway.settings import Settings, load_settings

HOUR = 3600.0


def failing_routes(tmp_path: Path, sink: Sink) -> RouteTable:
    routes = tmp_path / "failing-routes"
    routes.mkdir()
    (routes / "acme.toml").write_text(
        f'org = "acme"\n[sources.shiprocket]\ntokens = ["sr-acme-token-0001"]\n'
        f'[[endpoints]]\nname = "down"\nurl = "{sink.url("/down")}"\n'
    )
    return load_routes(routes, env={})


def settings_for(tmp_path: Path) -> Settings:
    return load_settings(
        None,
        {
            "GATEWAY_STORE_URL": f"sqlite:///{tmp_path / 'gateway.db'}",
            "GATEWAY_STORE_WRITER_PROCESS": "false",
            "GATEWAY_DELIVERY_RETRY_SCHEDULE": '["5s", "5m"]',
            "GATEWAY_DELIVERY_JITTER": "0",
            "GATEWAY_DELIVERY_TIMEOUT": "1s",
            "GATEWAY_DELIVERY_LEASE": "6s",
        },
    )


async def down(request: web.Request) -> web.StreamResponse:
    return web.Response(status=500, text="down")


async def test_a_retry_scheduled_an_hour_fast_is_sent_on_schedule_after_the_clock_is_put_right(
    gateway_factory: Callable[..., Any], make_sink: SinkFactory, tmp_path: Path
) -> None:
    sink = await make_sink()
    sink.routes["/down"] = down
    base = float(int(time.time()))
    options: dict[str, Any] = {
        "settings": settings_for(tmp_path),
        "routes": failing_routes(tmp_path, sink),
        "sender": Sender(allow_private=True),
    }
    fast = ManualClock(base + HOUR)  # the host's clock an hour fast when this process started
    async with gateway_factory(clock=fast, **options) as gw:
        body = {"awb": "STEP1", "shipment_status_id": 18, "current_timestamp": "14 03 2025 09:00:00"}
        assert (await gw.webhook("acme", "shiprocket", body)).status_code == 200
        await gw.state.dispatcher.run_until_idle()
    assert len(sink.received) == 1  # failed: the retry is due 5 s later, an hour fast
    # The receiver checks webhook-timestamp against its own clock: the host's, not the schedule's.
    assert abs(int(sink.received[0].headers["webhook-timestamp"]) - time.time()) < 60

    right = ManualClock(base)  # restarted after the clock was put right
    async with gateway_factory(clock=right, **options) as gw:
        await gw.state.dispatcher.run_until_idle()  # rebases the schedule; nothing due yet
        assert len(sink.received) == 1
        right.advance(5)
        await gw.state.dispatcher.run_until_idle()
        assert len(sink.received) == 2  # on schedule, not an hour late
    # Started again on the same clock: the schedule is not shifted a second time.
    async with gateway_factory(clock=right, **options) as gw:
        right.advance(299)
        await gw.state.dispatcher.run_until_idle()
        assert len(sink.received) == 2  # the third attempt is 5 min after the second
        right.advance(1)
        await gw.state.dispatcher.run_until_idle()
        assert len(sink.received) == 3
