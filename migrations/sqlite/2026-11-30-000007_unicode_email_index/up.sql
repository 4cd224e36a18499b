-- Rebuilds the unique index of addresses with the Unicode-aware lower() that every
-- Roster connection now registers (SQLite's own folded ASCII only). Fails if two
-- stored addresses differ only in non-ASCII case: merge or rename one, then migrate.
-- Write to `users` only through Roster: a plain sqlite3 shell has the ASCII lower().
REINDEX users_email_unique;
