-- One number that changes whenever any endpoint's routing-relevant state changes, so the
-- ingest transaction can keep endpoints in memory and re-read them only when it moved.
-- Completions touch last_success_at / failing_since often; those do not count.

CREATE TABLE endpoints_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO endpoints_version (id, version) VALUES (1, 0);

CREATE TRIGGER endpoints_version_insert AFTER INSERT ON endpoints
BEGIN
    UPDATE endpoints_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER endpoints_version_update AFTER UPDATE OF config, version, disabled, deleted, owner ON endpoints
BEGIN
    UPDATE endpoints_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER endpoints_version_delete AFTER DELETE ON endpoints
BEGIN
    UPDATE endpoints_version SET version = version + 1 WHERE id = 1;
END;
