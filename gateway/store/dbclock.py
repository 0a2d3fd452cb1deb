"""The database's clock, read locally: every process sharing a PostgreSQL store agrees on time.

Leases, retry schedules and staleness compare times written by different processes, maybe
on different machines. Their wall clocks can drift apart; the database's cannot disagree
with itself. ``DbClock`` measures its offset to the server's ``clock_timestamp()`` when the
store opens and again every ``REFRESH_SECONDS``, so ``now()`` stays a cheap local call.
The offset is to the local monotonic clock, not the wall clock: a step of this host's wall
clock must not move the database's time here until the next measurement.
"""

from __future__ import annotations

import time

from gateway.store.pgconn import Conn

#: How often the offset to the database clock is measured again.
REFRESH_SECONDS = 60.0


class DbClock:
    def __init__(self) -> None:
        #: database time minus local monotonic time, seconds (the wall clock's until measured).
        self.offset = time.time() - time.monotonic()

    def now(self) -> float:
        return time.monotonic() + self.offset

    async def sync(self, conn: Conn) -> None:
        """Measure the offset; the round trip's midpoint is taken as the moment read."""
        before = time.monotonic()
        server = await conn.fetchval("SELECT extract(epoch FROM clock_timestamp())::float8")
        after = time.monotonic()
        self.offset = float(server) - (before + after) / 2
