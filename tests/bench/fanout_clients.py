"""The fan-out bench's client processes (127.0.0.1 only, bounded in count and time).

``raw``: the ceiling. An aiohttp ``ClientSession`` (``TCPConnector(limit=64)``, uvloop), 64
concurrent senders POSTing one fixed body, ``--warmup`` untimed requests then ``--requests``
timed ones, as in shared/research/perf-baseline.md §4. Prints deliveries/s and this process's
CPU µs per request.

``open``: the latency generator. Shiprocket webhooks with a unique AWB each, scheduled at
``t0 + i/rate`` whatever the gateway does (open loop), for ``--duration`` s. Every answer is
recorded as ``[scheduled, sent, acknowledged, status, eventIds]`` (``time.time()``) into
``--out``, to be joined with the sink's receive times.

Each prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen

#: Hard bound on any single request.
REQUEST_TIMEOUT = 10.0


def _local(url: str) -> str:
    if urlsplit(url).hostname != "127.0.0.1":
        raise SystemExit(f"only http://127.0.0.1:<port>/... is allowed, not {url!r}")
    return url


async def raw_loop(url: str, body: bytes, concurrency: int, warmup: int, requests: int) -> dict[str, object]:
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    failures = 0
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def sender(worker: int, count: int) -> None:
            nonlocal failures
            for i in range(count):
                headers = {"content-type": "application/json", "webhook-id": f"raw_{worker}_{i}"}
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    failures += resp.status != 200

        async def run(total: int) -> None:
            share, extra = divmod(total, concurrency)
            await asyncio.gather(*(sender(w, share + (w < extra)) for w in range(concurrency)))

        await run(warmup)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await run(requests)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {
        "requests": requests,
        "elapsed_s": wall,
        "rps": requests / wall,
        "cpu_us": cpu / requests * 1e6,
        "failures": failures,
        "body_bytes": len(body),
    }


async def open_loop(
    url: str, headers: dict[str, str], rate: float, duration: float, tag: str
) -> tuple[dict[str, object], list[list[object]]]:
    prefix, suffix = loadgen.shiprocket_body_parts()
    total = int(rate * duration)
    records: list[list[object]] = []
    errors = 0
    lags: list[float] = []
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(i: int, scheduled: float) -> None:
            nonlocal errors
            body = prefix + loadgen.awb(tag, 0, i).encode() + suffix
            sent = time.time()
            lags.append(sent - scheduled)
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    answer = await resp.read()
                    acked = time.time()
                    ids = json.loads(answer).get("eventIds", []) if resp.status == 200 else []
                    records.append([scheduled, sent, acked, resp.status, ids])
            except (aiohttp.ClientError, TimeoutError, ValueError):
                errors += 1

        tasks = []
        t0 = time.time() + 0.05
        for i in range(total):
            scheduled = t0 + i / rate
            delay = scheduled - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, scheduled)))
        await asyncio.gather(*tasks)
    lags.sort()
    summary: dict[str, object] = {
        "requests": total,
        "ok": sum(1 for r in records if r[3] == 200),
        "non200": sum(1 for r in records if r[3] != 200),
        "errors": errors,
        "elapsed_s": time.time() - t0,
        "lag_p99_ms": lags[int(0.99 * (len(lags) - 1))] * 1000 if lags else None,
    }
    return summary, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    raw = sub.add_parser("raw")
    raw.add_argument("--url", required=True)
    raw.add_argument("--body-file", type=Path, required=True)
    raw.add_argument("--concurrency", type=int, default=64)
    raw.add_argument("--warmup", type=int, default=1000)
    raw.add_argument("--requests", type=int, default=20_000)
    gen = sub.add_parser("open")
    gen.add_argument("--url", required=True)
    gen.add_argument("--header", action="append", default=[], help="'name: value'")
    gen.add_argument("--rate", type=float, default=300.0)
    gen.add_argument("--duration", type=float, default=10.0)
    gen.add_argument("--tag", default="FO")
    gen.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.mode == "raw":
        body = args.body_file.read_bytes()
        print(json.dumps(uvloop.run(raw_loop(_local(args.url), body, args.concurrency, args.warmup, args.requests))))
        return
    headers = {"content-type": "application/json"}
    headers.update(h.split(": ", 1) for h in args.header)
    summary, records = uvloop.run(open_loop(_local(args.url), headers, args.rate, args.duration, args.tag))
    args.out.write_text(json.dumps(records))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
