-- Listing: the e-mail domain as a column of its own (kept by the application, so a
-- domain filter is an index look-up), and one index per sort order and per common
-- filter-then-sort, each ending in id: the keyset cursor is (sort key, id).
ALTER TABLE users ADD COLUMN email_domain TEXT NOT NULL DEFAULT '';
UPDATE users SET email_domain = lower(substring(email FROM '@([^@]*)$'));

CREATE INDEX users_created_at_id ON users (created_at, id);
CREATE INDEX users_email_id ON users (email, id);
CREATE INDEX users_name_id ON users (name, id);
CREATE INDEX users_status_created_at_id ON users (status, created_at, id);
CREATE INDEX users_role_created_at_id ON users (role, created_at, id);
CREATE INDEX users_email_domain_created_at_id ON users (email_domain, created_at, id);
