"""Serve a fake aggregator on 127.0.0.1 for local development:

    python -m tests.fakes.run --aggregator shiprocket --port 9101

Point an account's ``base_url`` (Magic: its ``urls``) at it; ``--mode`` switches on a
misbehaviour (refuse, hang, garbage, down).
"""

from __future__ import annotations

import argparse

import uvicorn

from .base import FakeAggregator
from .clickpost import FakeClickpost
from .magic import FakeMagic
from .shiprocket import FakeShiprocket
from .shipway import FakeShipway

FAKES: dict[str, type[FakeAggregator]] = {
    "shiprocket": FakeShiprocket,
    "shipway": FakeShipway,
    "clickpost": FakeClickpost,
    "magic": FakeMagic,
}


def main() -> None:
    parser = argparse.ArgumentParser(description="serve a fake aggregator API on 127.0.0.1")
    parser.add_argument("--aggregator", choices=sorted(FAKES), required=True)
    parser.add_argument("--port", type=int, default=9101)
    parser.add_argument("--mode", choices=["refuse", "hang", "garbage", "down"], default=None)
    args = parser.parse_args()
    fake = FAKES[args.aggregator]()
    fake.mode = args.mode
    uvicorn.run(fake.app, host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
