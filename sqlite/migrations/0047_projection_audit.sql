-- 0047: the baseline of the cheap projection check (see
-- DB.CheckProjections): the log position of the last check that passed
-- (seq and the hash of that event) and the row counts of the projection
-- tables the log gave up to it, as JSON. Only an optimisation: without it
-- the check counts from the start of the log.
CREATE TABLE projection_audit (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	seq    INTEGER NOT NULL,
	hash   BLOB    NOT NULL,
	counts TEXT    NOT NULL
);
