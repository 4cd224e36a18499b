-- Nothing to do: PostgreSQL's lower() already folds Unicode under a UTF-8 locale.
-- (Kept so that both dialects have the same migrations.)
SELECT 1;
