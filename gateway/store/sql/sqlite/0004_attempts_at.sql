-- Endpoint health (GET /v1/admin/endpoints) reads the attempts of a recent window.
CREATE INDEX attempts_at ON attempts (at);
