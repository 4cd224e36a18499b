-- The audit log (docs/audit.md): who did what to whom, when, from which request, and
-- how it ended. Changes to users and successful logins are written in the
-- transaction of the action; failed logins are counted per account (or unknown
-- account) and client in one entry per hour (`attempts`, `last_at`). The id is a ULID
-- made from `at`, so newest first is id order. Trimmed after `audit.retention`.
CREATE TABLE audit_log (
    id         TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 26),
    at         TEXT    NOT NULL,
    last_at    TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    CHECK (target IS NULL OR length(target) = 26),
    client     TEXT,
    outcome    TEXT    NOT NULL CHECK (outcome IN ('success', 'failure')),
    request_id TEXT,
    trace_id   TEXT,
    fields     TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_target ON audit_log (target, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_at ON audit_log (at);
-- A failed login looks for the open entry of its client: only that client's logins
-- of the last hour are read, however many a year of attacks has left.
CREATE INDEX audit_log_client ON audit_log (client, at);
