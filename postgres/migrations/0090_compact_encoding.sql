-- 0090: the compact event encoding (credo.EncodingVersion 2,
-- docs/event-encoding.md). Event bodies are deterministic CBOR and the
-- hash columns (events.hash and prev_hash, log_head.hash,
-- projection_audit.hash) hold the 32 bytes of a SHA-256 instead of 64 hex
-- characters.
--
-- A schema version below this one with events in its log is the JSON
-- format: the store refuses to open it (`credo migrate --postgres URL`
-- converts it) and never applies this migration to it. An empty log has
-- nothing to convert. Idempotent: the columns are converted once.
DO $$
BEGIN
	IF (SELECT data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'events' AND column_name = 'hash') = 'text' THEN
		ALTER TABLE events
			ALTER COLUMN prev_hash TYPE bytea USING decode(prev_hash, 'hex'),
			ALTER COLUMN hash TYPE bytea USING decode(hash, 'hex');
		ALTER TABLE log_head ALTER COLUMN hash TYPE bytea USING decode(hash, 'hex');
		ALTER TABLE projection_audit ALTER COLUMN hash TYPE bytea USING decode(hash, 'hex');
	END IF;
END
$$;
DELETE FROM projection_audit;
