"""The delivery sink for the fan-out bench: a raw ASGI app that answers POSTs 200 at once (or, on
two paths, never / a byte at a time: the misbehaving endpoints of the isolation phase).

Run it the way the research measured the ceiling (shared/research/perf-baseline.md §4)::

    .venv/bin/python -m uvicorn --app-dir tests/bench fanout_sink:app --host 127.0.0.1 --port 8012 \\
        --workers 1 --loop uvloop --http httptools --no-access-log --log-level warning

Every POST is counted by path and recorded as ``(webhook-id, time.time())`` at the moment its
body has been read: the receive times are what the bench joins with the acceptance times.

* ``GET /stats?mark=N``: ``{"total", "paths", "first", "last", "mark"}``, where ``first`` and
  ``last`` are the receive times of the first and latest request and ``mark`` that of the N-th
  (``null`` until it has arrived).
* ``GET /dump``: ``[[webhook-id, time], ...]`` in arrival order.
* ``POST /reset``: forget everything (between phases).
* ``POST /hang…``: the body is read, then no answer at all until the client gives up (hangs up);
  ``POST /drip…``: a 200 with a ``content-length`` of ``DRIP_BYTES`` whose body comes one byte
  every ``DRIP_SECONDS``, until the client hangs up. Neither is recorded as received; each is
  counted in ``stats["held"]`` (``{path: [started, client hung up]}``), and neither outlives
  ``HOLD_MAX_SECONDS``.

No framework on purpose: the sink must cost far less per request than either client.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_OK_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"2")]
#: Bound on any held request, so a client that never hangs up cannot pin the sink.
HOLD_MAX_SECONDS = 60.0
DRIP_SECONDS = 0.2
DRIP_BYTES = int(HOLD_MAX_SECONDS / DRIP_SECONDS)


class Sink:
    def __init__(self) -> None:
        self.paths: Counter[str] = Counter()
        self.ids: list[str] = []
        self.times: list[float] = []
        self.held: dict[str, list[int]] = {}

    def reset(self) -> None:
        self.held.clear()
        self.paths.clear()
        self.ids.clear()
        self.times.clear()

    def stats(self, mark: int) -> dict[str, object]:
        times = self.times
        return {
            "total": len(times),
            "paths": dict(self.paths),
            "first": times[0] if times else None,
            "last": times[-1] if times else None,
            "mark": times[mark - 1] if 0 < mark <= len(times) else None,
            "held": self.held,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if method == "POST" and path != "/reset":
            while (await receive()).get("more_body", False):
                pass
            if path.startswith(("/hang", "/drip")):
                await self._hold(path, receive, send)
                return
            self.times.append(time.time())
            self.ids.append(_webhook_id(scope["headers"]))
            self.paths[path] += 1
            await send({"type": "http.response.start", "status": 200, "headers": _OK_HEADERS})
            await send({"type": "http.response.body", "body": b"{}"})
            return
        if method == "POST":
            self.reset()
            body = b"{}"
        elif path == "/stats":
            query = parse_qs(scope.get("query_string", b"").decode())
            body = json.dumps(self.stats(int(query.get("mark", ["0"])[0]))).encode()
        elif path == "/dump":
            body = json.dumps(list(zip(self.ids, self.times, strict=True))).encode()
        else:
            await _answer(send, 404, b"{}")
            return
        await _answer(send, 200, body)

    async def _hold(self, path: str, receive: Receive, send: Send) -> None:
        """Answer nothing (``/hang``) or drip the body (``/drip``) until the client hangs up."""
        counts = self.held.setdefault(path, [0, 0])
        counts[0] += 1
        # Once the body is read, the next message uvicorn delivers is the disconnect.
        gone = asyncio.ensure_future(receive())
        try:
            if path.startswith("/hang"):
                await asyncio.wait([gone], timeout=HOLD_MAX_SECONDS)
                if not gone.done():
                    await _answer(send, 503, b"{}")
            else:
                headers = [(b"content-type", b"text/plain"), (b"content-length", str(DRIP_BYTES).encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                for i in range(DRIP_BYTES):
                    await send({"type": "http.response.body", "body": b".", "more_body": i < DRIP_BYTES - 1})
                    await asyncio.wait([gone], timeout=DRIP_SECONDS)
                    if gone.done():
                        break
        finally:
            if gone.done() and not gone.cancelled() and gone.result().get("type") == "http.disconnect":
                counts[1] += 1
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gone


def _webhook_id(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"webhook-id":
            return value.decode("latin-1")
    return ""


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


app = Sink()
