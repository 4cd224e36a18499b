-- The first response to each (caller, Idempotency-Key), replayed to retries until it
-- expires. `status` is NULL while the first request is still running.
CREATE TABLE idempotency_keys (
    scope       TEXT    NOT NULL CHECK (length(scope) BETWEEN 1 AND 128),
    key         TEXT    NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint TEXT    NOT NULL,
    status      INTEGER CHECK (status IS NULL OR status BETWEEN 100 AND 599),
    headers     TEXT,
    body        BLOB,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT;
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
