-- The id a user has in the system they were imported from (docs/import.md): kept,
-- unique when present, and a listing filter.
ALTER TABLE users ADD COLUMN external_id TEXT COLLATE "C"
    CHECK (external_id IS NULL OR length(external_id) BETWEEN 1 AND 255);
CREATE UNIQUE INDEX users_external_id_unique ON users (external_id);
