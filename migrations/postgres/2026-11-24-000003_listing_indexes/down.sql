DROP INDEX users_email_domain_created_at_id;
DROP INDEX users_role_created_at_id;
DROP INDEX users_status_created_at_id;
DROP INDEX users_name_id;
DROP INDEX users_email_id;
DROP INDEX users_created_at_id;
ALTER TABLE users DROP COLUMN email_domain;
