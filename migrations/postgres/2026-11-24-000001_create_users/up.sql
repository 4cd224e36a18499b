-- Users. Ids are ULIDs in their canonical text form; the "C" collation makes text
-- order byte order, which is creation order, whatever the database's locale.
CREATE TABLE users (
    id         TEXT        COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(id) = 26),
    email      TEXT        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name       TEXT        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    role       TEXT        NOT NULL CHECK (role IN ('admin', 'member')),
    status     TEXT        NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    BIGINT      NOT NULL CHECK (version >= 1)
);

-- E-mail addresses are unique regardless of case.
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));
