-- A claim takes an endpoint's due retries before its fresh backlog (issue 14): in one queue
-- ordered by due time, an endpoint failing everything attempted its whole untried backlog
-- once before any delivery got a second attempt. The pending deliveries are now indexed in
-- two parts, those with a failed attempt on record (last_error set) and the fresh ones;
-- each pending row is in exactly one of them, as it was in deliveries_due, and a claim
-- (which touches neither state nor last_error) still updates no index.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_retries ON deliveries (org, endpoint, next_attempt_at, id)
    WHERE state = 'pending' AND last_error IS NOT NULL;
CREATE INDEX deliveries_fresh ON deliveries (org, endpoint, next_attempt_at, id)
    WHERE state = 'pending' AND last_error IS NULL;

-- Small facts about the store itself: 'probe' is the write /readyz commits when nothing
-- else has lately; 'clock_rebased' the latest time a schedule rebase accounted for.
CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY,
    value REAL NOT NULL
) WITHOUT ROWID;
