package sqlite

import (
	"context"
	"database/sql"
)

// The check log is kept in a file of its own beside the registry
// (PATH.checks): every check a service provider runs is a row, indexed by
// subject for the subject's access log, so at national volume it takes
// random index inserts at thousands a second. In its own file it has small
// pages (1 KiB: a random insert dirties a quarter of the bytes), its own
// write-ahead log and checkpoints, and never delays the event log's writer
// or its checkpointer. It is operational data, outside the hash chain.

// checkLogSchema creates the check log's tables (idempotent).
const checkLogSchema = `
CREATE TABLE IF NOT EXISTS checks (
	seq      INTEGER PRIMARY KEY, -- order of logging
	id       TEXT NOT NULL UNIQUE, -- time-sortable: inserts append
	skey     INTEGER NOT NULL,     -- 64-bit hash of the subject: a small index entry
	checker  TEXT NOT NULL,
	org      TEXT NOT NULL DEFAULT '',
	subject  TEXT NOT NULL,
	sector   TEXT NOT NULL,
	at       TEXT NOT NULL,
	known    TEXT NOT NULL,
	policy   TEXT NOT NULL,
	decision TEXT NOT NULL,
	measures TEXT NOT NULL DEFAULT ''
);
-- The access log's index takes one random insert per check: keyed by an
-- integer hash of the subject rather than the text, its entries are small
-- and a page holds several times more of them.
CREATE INDEX IF NOT EXISTS checks_skey ON checks(skey);

-- Checks counted by day (UTC), sector and decision, kept with each batch:
-- the statistics never scan the log.
CREATE TABLE IF NOT EXISTS check_counts (
	day      TEXT NOT NULL,
	sector   TEXT NOT NULL,
	decision TEXT NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (day, sector, decision)
) WITHOUT ROWID;
`

// CheckLogPath returns the file that holds the check log of the registry at path.
func CheckLogPath(path string) string { return path + ".checks" }

// checkLog opens the check log's file on first use.
func (db *DB) checkLog() (*sql.DB, error) {
	db.clOnce.Do(func() {
		db.cldb, db.clerr = sql.Open("sqlite", dsn(CheckLogPath(db.path),
			"busy_timeout(10000)",
			"page_size(1024)", // before the file is created
			"journal_mode(WAL)",
			"synchronous(FULL)",
			"temp_store(MEMORY)",
			"cache_size(-65536)",
			"journal_size_limit(67108864)",
		))
		if db.clerr != nil {
			return
		}
		db.cldb.SetMaxOpenConns(4)
		if _, err := db.cldb.ExecContext(context.Background(), checkLogSchema); err != nil {
			db.clerr = err
		}
	})
	return db.cldb, db.clerr
}

// subjectKey is the 64-bit FNV-1a hash of a subject identifier, the key of
// the access log's index (collisions are resolved by comparing the subject).
func subjectKey(subject string) int64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(subject); i++ {
		h ^= uint64(subject[i])
		h *= 1099511628211
	}
	return int64(h)
}
