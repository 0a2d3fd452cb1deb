-- Notifications, shipment legs, endpoints and the delivery outbox (PostgreSQL).
-- Mirrors sql/sqlite/0001: times are epoch seconds (double precision) so both backends
-- trade the same floats; the clock that produces them is the database's (gateway.store.dbclock).

CREATE TABLE legs (
    id              BIGSERIAL PRIMARY KEY,
    org             TEXT    NOT NULL,
    shipment_type   TEXT    NOT NULL,
    awb             TEXT,
    forward_awb     TEXT,
    return_order_id TEXT,
    current_status  TEXT,
    status_time     DOUBLE PRECISION,
    terminal        BOOLEAN NOT NULL DEFAULT false,
    newest_time     DOUBLE PRECISION,
    updated_at      DOUBLE PRECISION NOT NULL
);
CREATE INDEX legs_forward_awb ON legs (org, forward_awb);

-- Every key a leg is known by: "awb:<awb>", "rid:<return order id>", "fwd:<forward awb>".
-- The primary key is what keeps two processes from creating the same leg twice.
CREATE TABLE leg_keys (
    org           TEXT   NOT NULL,
    shipment_type TEXT   NOT NULL,
    key           TEXT   NOT NULL,
    leg_id        BIGINT NOT NULL REFERENCES legs (id),
    PRIMARY KEY (org, shipment_type, key)
);
CREATE INDEX leg_keys_by_key ON leg_keys (org, key);

CREATE TABLE notifications (
    seq               BIGSERIAL PRIMARY KEY,    -- acceptance order
    event_id          TEXT    NOT NULL UNIQUE,
    org               TEXT    NOT NULL,
    source            TEXT    NOT NULL,
    leg_id            BIGINT  NOT NULL REFERENCES legs (id),
    notification_type TEXT    NOT NULL,
    shipment_type     TEXT    NOT NULL,
    awb               TEXT,
    raw_status        TEXT,
    status_time       DOUBLE PRECISION NOT NULL,
    status_time_raw   TEXT,
    received_at       DOUBLE PRECISION NOT NULL,
    stale             BOOLEAN NOT NULL,
    dedupe_key        BYTEA   NOT NULL,         -- bytes: the key uses NUL for "absent"
    envelope          BYTEA   NOT NULL,
    raw               BYTEA
);
CREATE UNIQUE INDEX notifications_dedupe ON notifications (org, dedupe_key);
CREATE INDEX notifications_leg ON notifications (leg_id, seq);
CREATE INDEX notifications_org_received ON notifications (org, received_at);
CREATE INDEX notifications_org_awb ON notifications (org, awb);

CREATE TABLE endpoints (
    org              TEXT    NOT NULL,
    name             TEXT    NOT NULL,
    owner            TEXT    NOT NULL,          -- 'file' | 'api'
    config           TEXT    NOT NULL,          -- EndpointConfig as JSON
    version          INTEGER NOT NULL DEFAULT 1,
    disabled         BOOLEAN NOT NULL DEFAULT false,
    disabled_reason  TEXT,
    disabled_at      DOUBLE PRECISION,
    last_success_at  DOUBLE PRECISION,
    failing_since    DOUBLE PRECISION,
    last_error       TEXT,
    deleted          BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (org, name)
);

CREATE TABLE deliveries (
    id              BIGSERIAL PRIMARY KEY,
    seq             BIGINT  NOT NULL,           -- notification seq: per-shipment order
    event_id        TEXT    NOT NULL,
    org             TEXT    NOT NULL,
    endpoint        TEXT    NOT NULL,
    shipment_key    TEXT    NOT NULL,
    ordered         BOOLEAN NOT NULL,
    kind            TEXT    NOT NULL DEFAULT 'endpoint',   -- 'endpoint' | 'returns_system'
    state           TEXT    NOT NULL,           -- pending | delivered | failed | parked
    attempt_count   INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    lease_token     TEXT,
    lease_until     DOUBLE PRECISION,
    created_at      DOUBLE PRECISION NOT NULL,
    updated_at      DOUBLE PRECISION NOT NULL,
    last_status     INTEGER,
    last_error      TEXT,
    payload         BYTEA
);
CREATE INDEX deliveries_due ON deliveries (org, endpoint, next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_order ON deliveries (org, endpoint, shipment_key, seq)
    WHERE state IN ('pending', 'parked');
CREATE INDEX deliveries_by_endpoint ON deliveries (org, endpoint, state, id);
CREATE INDEX deliveries_event ON deliveries (event_id);

CREATE TABLE attempts (
    id               BIGSERIAL PRIMARY KEY,
    delivery_id      BIGINT NOT NULL REFERENCES deliveries (id),
    at               DOUBLE PRECISION NOT NULL,
    status_code      INTEGER,
    duration_ms      DOUBLE PRECISION,
    error            TEXT,
    response_excerpt TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, id);
