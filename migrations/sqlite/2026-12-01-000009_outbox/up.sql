-- The transactional outbox (docs/events.md): every change to a user stores its events
-- in the change's own transaction; the relay delivers them afterwards, in `seq` order
-- (SQLite has one writer at a time, so that is commit order), and marks them
-- delivered. AUTOINCREMENT: a trimmed sequence number is never reused. Delivered rows
-- are trimmed after `events.relay.retention`.
CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE CHECK (length(id) = 26),
    user_id      TEXT    NOT NULL CHECK (length(user_id) = 26),
    user_version INTEGER NOT NULL CHECK (user_version >= 1),
    kind         TEXT    NOT NULL CHECK (kind LIKE 'user.%'),
    data         TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    occurred_at  TEXT    NOT NULL,
    delivered_at TEXT
) STRICT;
CREATE INDEX outbox_undelivered ON outbox (seq) WHERE delivered_at IS NULL;
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;

-- Who relays: one instance at a time holds the lease, and renews it while it runs.
CREATE TABLE outbox_lease (
    name       TEXT NOT NULL PRIMARY KEY,
    holder     TEXT,
    expires_at TEXT NOT NULL
) STRICT;
INSERT INTO outbox_lease (name, holder, expires_at) VALUES ('relay', NULL, '1970-01-01T00:00:00.000000Z');
