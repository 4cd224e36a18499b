-- Each user-wide revocation keeps its own expiry, fixed when it is made (its instant
-- plus the token lifetime then), so that lowering the lifetime later no longer purges
-- it while tokens it revokes are still alive. Existing rows get 30 days, more than any
-- sensible access-token lifetime.
ALTER TABLE token_revocations ADD COLUMN expires_at TIMESTAMPTZ;
UPDATE token_revocations SET expires_at = revoked_before + INTERVAL '30 days';
ALTER TABLE token_revocations ALTER COLUMN expires_at SET NOT NULL;
CREATE INDEX token_revocations_expires_at ON token_revocations (expires_at);
