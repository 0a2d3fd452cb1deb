-- Returns (SPEC §9): who the return came from (its returns system) and its QC results.

CREATE TABLE returns (
    org                TEXT    NOT NULL,
    return_order_code  TEXT    NOT NULL,
    forward_order_code TEXT,
    returns_system     TEXT,                  -- 'returns_prime' | 'clickpost' | NULL
    awb                TEXT,
    transporter        TEXT,
    leg_id             BIGINT,
    event_id           TEXT,                  -- its RETURN_CREATED notification
    qc_status          TEXT,                  -- PASS | FAIL | PARTIAL, from the latest update
    created_at         DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (org, return_order_code)
);
CREATE INDEX returns_leg ON returns (org, leg_id);

CREATE TABLE processing_updates (
    id                BIGSERIAL PRIMARY KEY,
    org               TEXT  NOT NULL,
    return_order_code TEXT  NOT NULL,
    webhook_id        TEXT  NOT NULL UNIQUE,
    body              BYTEA NOT NULL,         -- exactly the bytes delivered
    received_at       DOUBLE PRECISION NOT NULL
);
CREATE INDEX processing_updates_return ON processing_updates (org, return_order_code, id);
