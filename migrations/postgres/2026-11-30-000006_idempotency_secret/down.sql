DROP TABLE idempotency_secret;
