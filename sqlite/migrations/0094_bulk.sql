-- 0094: staging tables of a bulk load (DB.StartBulk): while a fresh
-- registry is loaded, the rows of the two projections keyed by subject
-- (subject_events, facts) are appended here in log order, and moved into
-- their tables in key order once, when the load ends (or, after a crash
-- during the load, when the store is next opened).
CREATE TABLE bulk_subject_events (
	subject TEXT    NOT NULL,
	seq     INTEGER NOT NULL
);
CREATE TABLE bulk_facts (
	subject TEXT    NOT NULL,
	seq     INTEGER NOT NULL,
	body    BLOB    NOT NULL
);
