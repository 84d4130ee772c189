-- 0080: the log's signed checkpoints, written by the node that signs them
-- (credo serve --log-key) so that the other nodes serving this database
-- serve the same checkpoint and receipts (credo serve --log-pub). The
-- signing key itself is never in the database.
CREATE TABLE checkpoints (
	size      BIGINT      PRIMARY KEY,
	note      BYTEA       NOT NULL,
	signed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
