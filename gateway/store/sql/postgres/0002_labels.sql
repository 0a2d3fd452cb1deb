-- Results of label / return-AWB generation through the aggregator proxy: exactly one
-- AWB per (org, kind, order number, shipment code).

CREATE TABLE labels (
    org           TEXT NOT NULL,
    kind          TEXT NOT NULL,          -- 'label' | 'return_awb' | 'order'
    order_number  TEXT NOT NULL,
    shipment_code TEXT NOT NULL,          -- '' when the request had none
    order_id      TEXT,
    result        TEXT NOT NULL,
    created_at    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (org, kind, order_number, shipment_code)
);
CREATE INDEX labels_order_id ON labels (org, kind, order_id);
