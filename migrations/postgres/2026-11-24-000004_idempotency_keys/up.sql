-- The first response to each (caller, Idempotency-Key), replayed to retries until it
-- expires. `status` is NULL while the first request is still running.
CREATE TABLE idempotency_keys (
    scope       TEXT COLLATE "C" NOT NULL CHECK (length(scope) BETWEEN 1 AND 128),
    key         TEXT COLLATE "C" NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint TEXT        NOT NULL,
    status      INTEGER     CHECK (status IS NULL OR status BETWEEN 100 AND 599),
    headers     TEXT,
    body        BYTEA,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
