-- The hot paths check no foreign keys, as on SQLite (PRAGMA foreign_keys=OFF): the store's
-- own statements are the only writers of these rows and always write the parent first.
-- Each check was a query per row: 15-30 µs of PostgreSQL CPU per ingested webhook, about
-- a sixth of it, and one more per delivery attempt.
ALTER TABLE leg_keys DROP CONSTRAINT IF EXISTS leg_keys_leg_id_fkey;
ALTER TABLE notifications DROP CONSTRAINT IF EXISTS notifications_leg_id_fkey;
ALTER TABLE attempts DROP CONSTRAINT IF EXISTS attempts_delivery_id_fkey;
