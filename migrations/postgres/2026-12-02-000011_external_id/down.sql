DROP INDEX users_external_id_unique;
ALTER TABLE users DROP COLUMN external_id;
