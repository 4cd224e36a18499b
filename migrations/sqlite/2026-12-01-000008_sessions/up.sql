-- Login sessions (docs/auth.md, "Sessions"): started by a password login, renewed by
-- rotating refresh tokens, ended by logout, by revoking the user's tokens, by reuse of
-- a spent refresh token, or by time (idle or absolute; not stored: read off the times).
CREATE TABLE sessions (
    id             TEXT NOT NULL PRIMARY KEY CHECK (length(id) = 26),
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     TEXT NOT NULL,
    last_used_at   TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    client_address TEXT NOT NULL CHECK (length(client_address) BETWEEN 2 AND 45),
    user_agent     TEXT CHECK (length(user_agent) <= 256),
    ended_at       TEXT,
    end_reason     TEXT CHECK (end_reason IN ('logged_out', 'ended', 'revoked',
                                              'refresh_token_reused', 'superseded')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
) STRICT;
-- A user's active sessions, oldest first (listing, the per-user cap).
CREATE INDEX sessions_user_active ON sessions (user_id, created_at) WHERE ended_at IS NULL;
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Refresh tokens, as SHA-256 digests only, each with the access token issued with it
-- (so that ending the session revokes that too). A spent token is kept until its
-- session is purged: presenting it again is how reuse is detected.
CREATE TABLE refresh_tokens (
    digest            TEXT NOT NULL PRIMARY KEY CHECK (length(digest) = 64),
    session_id        TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at         TEXT NOT NULL,
    spent_at          TEXT,
    access_token_id   TEXT NOT NULL UNIQUE CHECK (length(access_token_id) = 26),
    access_expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id, access_expires_at);
