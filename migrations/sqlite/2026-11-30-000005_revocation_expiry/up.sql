-- Each user-wide revocation keeps its own expiry, fixed when it is made (its instant
-- plus the token lifetime then), so that lowering the lifetime later no longer purges
-- it while tokens it revokes are still alive. Existing rows get 30 days, more than any
-- sensible access-token lifetime, written as diesel writes instants.
ALTER TABLE token_revocations ADD COLUMN expires_at TEXT NOT NULL DEFAULT '';
UPDATE token_revocations
    SET expires_at = strftime('%Y-%m-%d %H:%M:%f', revoked_before, '+30 days') || '+00:00';
CREATE INDEX token_revocations_expires_at ON token_revocations (expires_at);
