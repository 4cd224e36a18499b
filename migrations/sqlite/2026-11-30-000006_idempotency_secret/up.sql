-- The secret that keys idempotency fingerprints: one row, written by whichever replica
-- needs it first, shared by all and kept across restarts and signing-key rotations (it
-- used to be derived from the signing key, so a rotation turned retries into 422s).
CREATE TABLE idempotency_secret (
    id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    secret BLOB    NOT NULL CHECK (length(secret) = 32)
) STRICT;
