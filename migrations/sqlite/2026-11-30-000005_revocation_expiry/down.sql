DROP INDEX token_revocations_expires_at;
ALTER TABLE token_revocations DROP COLUMN expires_at;
