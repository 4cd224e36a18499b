DROP TABLE outbox_lease;
DROP TABLE outbox;
