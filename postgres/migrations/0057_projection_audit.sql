-- 0057: the baseline of the cheap projection check (see
-- DB.CheckProjections): the log position of the last check that passed
-- (seq and the hash of that event) and the row counts of the projection
-- tables the log gave up to it, as JSON. Only an optimisation: without it
-- the check counts from the start of the log.
CREATE TABLE IF NOT EXISTS projection_audit (
	id     int    PRIMARY KEY CHECK (id = 1),
	seq    bigint NOT NULL,
	hash   text   NOT NULL,
	counts text   NOT NULL
);
