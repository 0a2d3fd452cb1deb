-- Who is asking the aggregator for a label or return AWB right now. Within one process the
-- proxy's single flight suffices; across processes (workers, replicas) a generation first
-- claims its key here, so a retry landing on another process does not book a second AWB.

CREATE TABLE label_claims (
    org           TEXT NOT NULL,
    kind          TEXT NOT NULL,
    order_number  TEXT NOT NULL,
    shipment_code TEXT NOT NULL,
    token         TEXT NOT NULL,          -- the holder's; only it releases the claim
    until         DOUBLE PRECISION NOT NULL,  -- a holder that died loses the claim then
    PRIMARY KEY (org, kind, order_number, shipment_code)
);
