-- 0090: the compact event encoding (credo.EncodingVersion 2,
-- docs/event-encoding.md). Event bodies are deterministic CBOR and the
-- hash columns (events.hash and prev_hash, head.hash, projection_audit.hash)
-- hold the 32 bytes of a SHA-256 instead of 64 hex characters;
-- events.recorded is Unix microseconds (the exact time is in the body).
--
-- A schema version below this one with events in its log is the JSON
-- format: the store refuses to open it (`credo migrate --db FILE` converts
-- it) and never applies this migration to it. An empty log has nothing to
-- convert: the head of an empty log becomes the empty hash and the
-- projection check's baseline (an optimisation) is dropped.
UPDATE head SET hash = X'' WHERE seq = 0;
DELETE FROM projection_audit;
