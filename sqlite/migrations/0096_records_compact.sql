-- 0096: the records table keeps only what the log does not already say,
-- and indexes a record's identity by a 64-bit key. A record's rule, case
-- reference and dates are in its record.filed event (the hash chain covers
-- them); keeping them again here, and indexing (authority, case_ref) as two
-- strings, cost about 190 bytes a record. case_key is CaseKey(authority,
-- case_ref) (internal/storecore/casekey.go, registered as the SQL function
-- credo_case_key); a lookup by key reads the candidates' events and keeps
-- the exact identity. The table is rebuilt (the SQLite way: new table,
-- copy, drop, rename), with foreign keys off for the rebuild and checked
-- after it (sqlite/migrate.go).
CREATE TABLE records_compact (
	id           INTEGER PRIMARY KEY, -- the seq of its record.filed event
	authority    TEXT    NOT NULL,
	subject      TEXT    NOT NULL,
	case_key     INTEGER NOT NULL,
	status       TEXT    NOT NULL DEFAULT 'active',
	revoked_at   TEXT,
	fulfilled_at TEXT,
	repaired_at  TEXT,
	changed_seq  INTEGER
);
INSERT INTO records_compact (id, authority, subject, case_key, status, revoked_at, fulfilled_at, repaired_at, changed_seq)
	SELECT id, authority, subject, credo_case_key(authority, case_ref), status, revoked_at, fulfilled_at, repaired_at, changed_seq
	FROM records ORDER BY id;
DROP TABLE records;
ALTER TABLE records_compact RENAME TO records;
CREATE INDEX records_case ON records (case_key);
