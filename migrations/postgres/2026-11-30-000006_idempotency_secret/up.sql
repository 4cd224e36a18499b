-- The secret that keys idempotency fingerprints: one row, written by whichever replica
-- needs it first, shared by all and kept across restarts and signing-key rotations (it
-- used to be derived from the signing key, so a rotation turned retries into 422s).
CREATE TABLE idempotency_secret (
    id     SMALLINT NOT NULL PRIMARY KEY CHECK (id = 1),
    secret BYTEA    NOT NULL CHECK (length(secret) = 32)
);
