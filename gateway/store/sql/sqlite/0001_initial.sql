-- Notifications, shipment legs, endpoints and the delivery outbox.
-- Times are epoch seconds (REAL). Booleans are 0/1.

CREATE TABLE legs (
    id              INTEGER PRIMARY KEY,
    org             TEXT    NOT NULL,
    shipment_type   TEXT    NOT NULL,
    awb             TEXT,
    forward_awb     TEXT,
    return_order_id TEXT,
    current_status  TEXT,
    status_time     REAL,
    terminal        INTEGER NOT NULL DEFAULT 0,
    newest_time     REAL,
    updated_at      REAL    NOT NULL
);
CREATE INDEX legs_forward_awb ON legs (org, forward_awb);

-- Every key a leg is known by: "awb:<awb>", "rid:<return order id>", "fwd:<forward awb>".
CREATE TABLE leg_keys (
    org           TEXT    NOT NULL,
    shipment_type TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    leg_id        INTEGER NOT NULL REFERENCES legs (id),
    PRIMARY KEY (org, shipment_type, key)
) WITHOUT ROWID;

CREATE TABLE notifications (
    seq               INTEGER PRIMARY KEY,      -- acceptance order
    event_id          TEXT    NOT NULL UNIQUE,
    org               TEXT    NOT NULL,
    source            TEXT    NOT NULL,
    leg_id            INTEGER NOT NULL REFERENCES legs (id),
    notification_type TEXT    NOT NULL,
    shipment_type     TEXT    NOT NULL,
    awb               TEXT,
    raw_status        TEXT,
    status_time       REAL    NOT NULL,          -- the aggregator's time, else received_at
    status_time_raw   TEXT,
    received_at       REAL    NOT NULL,
    stale             INTEGER NOT NULL,
    dedupe_key        TEXT    NOT NULL,
    envelope          BLOB    NOT NULL,          -- the SPEC §7.1 body, serialized once
    raw               BLOB
);
CREATE UNIQUE INDEX notifications_dedupe ON notifications (org, dedupe_key);
CREATE INDEX notifications_leg ON notifications (leg_id, seq);
CREATE INDEX notifications_org_received ON notifications (org, received_at);
CREATE INDEX notifications_org_awb ON notifications (org, awb);

CREATE TABLE endpoints (
    org              TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    owner            TEXT    NOT NULL,           -- 'file' | 'api'
    config           TEXT    NOT NULL,           -- EndpointConfig as JSON
    version          INTEGER NOT NULL DEFAULT 1,
    disabled         INTEGER NOT NULL DEFAULT 0,
    disabled_reason  TEXT,
    disabled_at      REAL,
    last_success_at  REAL,
    failing_since    REAL,
    last_error       TEXT,
    deleted          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org, name)
) WITHOUT ROWID;

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    seq             INTEGER NOT NULL,            -- notification seq: per-shipment order
    event_id        TEXT    NOT NULL,
    org             TEXT    NOT NULL,
    endpoint        TEXT    NOT NULL,
    shipment_key    TEXT    NOT NULL,
    ordered         INTEGER NOT NULL,
    kind            TEXT    NOT NULL DEFAULT 'endpoint',   -- 'endpoint' | 'returns_system'
    state           TEXT    NOT NULL,            -- pending | delivered | failed | parked
    attempt_count   INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL    NOT NULL,
    lease_token     TEXT,
    lease_until     REAL,
    created_at      REAL    NOT NULL,
    updated_at      REAL    NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    payload         BLOB                         -- the body, when it is not the notification's envelope
);
CREATE INDEX deliveries_due ON deliveries (org, endpoint, next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_order ON deliveries (org, endpoint, shipment_key, seq)
    WHERE state IN ('pending', 'parked');
CREATE INDEX deliveries_by_endpoint ON deliveries (org, endpoint, state, id);
CREATE INDEX deliveries_event ON deliveries (event_id);

CREATE TABLE attempts (
    id               INTEGER PRIMARY KEY,
    delivery_id      INTEGER NOT NULL REFERENCES deliveries (id),
    at               REAL    NOT NULL,
    status_code      INTEGER,
    duration_ms      REAL,
    error            TEXT,
    response_excerpt TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, id);
