-- Users. Ids are ULIDs in their canonical text form, so text order is creation order.
CREATE TABLE users (
    id         TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 26),
    email      TEXT    NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name       TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    role       TEXT    NOT NULL CHECK (role IN ('admin', 'member')),
    status     TEXT    NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1)
) STRICT;

-- E-mail addresses are unique regardless of case.
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));
