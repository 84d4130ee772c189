-- 0040: tell listening nodes that the log grew.
--
-- Every appending transaction moves log_head; this trigger queues a
-- notification on channel credo_log, which PostgreSQL delivers when (and
-- only if) the transaction commits. Nodes that tail the log (registry.Tail)
-- LISTEN and read the new events at once instead of waiting for their next
-- poll; the notification carries nothing, the log is the truth. Identical
-- notifications of one transaction are folded into one.
CREATE OR REPLACE FUNCTION credo_log_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('credo_log', '');
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS log_head_notify ON log_head;
CREATE TRIGGER log_head_notify AFTER UPDATE ON log_head
	FOR EACH STATEMENT EXECUTE FUNCTION credo_log_notify();
