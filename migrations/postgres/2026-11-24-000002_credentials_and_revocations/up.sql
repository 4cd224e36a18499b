-- Passwords (a PHC string; NULL for users created before passwords existed, who must
-- be given one before they can log in) and the last successful login.
ALTER TABLE users
    ADD COLUMN password_hash TEXT CHECK (password_hash IS NULL OR password_hash LIKE '$%'),
    ADD COLUMN password_changed_at TIMESTAMPTZ,
    ADD COLUMN last_login_at TIMESTAMPTZ;

-- Single tokens revoked before they expire (logout). Rows are useless once the token
-- has expired, and are purged then.
CREATE TABLE revoked_tokens (
    token_id   TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(token_id) = 26),
    user_id    TEXT COLLATE "C" NOT NULL CHECK (length(user_id) = 26),
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);

-- Every token of a user issued at or before revoked_before is revoked (password
-- change, disabling, deletion, an admin's revoke-tokens). No foreign key: the row must
-- outlive a deleted user until that user's tokens have expired.
CREATE TABLE token_revocations (
    user_id        TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (length(user_id) = 26),
    revoked_before TIMESTAMPTZ NOT NULL
);
