package sqlite

import (
	"context"
	"database/sql"
	"strings"
)

// The check log is kept in a file of its own beside the registry
// (PATH.checks): every check a service provider runs is a row. In its own
// file it has small pages (1 KiB), its own write-ahead log and
// checkpoints, and never delays the event log's writer or its
// checkpointer. It is operational data, outside the hash chain.
//
// The access log (a subject's checks) needs an index by subject, and at
// national volume that index takes thousands of inserts a second at random
// places. Kept as one B-tree over the whole log, nearly every check dirties
// a page of its own, and the more so the longer the log: 42,000 checks/s
// into an empty log, 32,000/s into one of 4 Mi checks
// (BenchmarkLogChecks). So the index is kept as sorted runs, as an LSM
// tree does:
//
//   - check_tail indexes the checks since the last run. It stays small
//     (at most checkTailFlush entries), so a batch's random inserts land
//     on a few hundred pages, most of them shared.
//   - When the tail is full, the same transaction copies it, already in
//     (subject key, seq) order, into check_index as a new run (appended at
//     the end of the B-tree, so its pages are written once and full),
//     records the run's seq range in check_runs and empties the tail.
//   - When checkRunFanout runs of the first level exist, they are merged
//     into one run of the next level the same way, so a subject's access
//     log reads one tail and a bounded number of runs per level; merges
//     stop at level checkMaxMergeLevel, past which runs only accumulate
//     (one a quarter of a million checks; reading a subject probes each in
//     C).
//
// Every check is in exactly one place: the tail or one run. Each step is
// one transaction, so a crash leaves the previous state.

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
-- The access log's index (see above), keyed by an integer hash of the
-- subject rather than the text: its entries are small.
CREATE TABLE IF NOT EXISTS check_tail (
	skey INTEGER NOT NULL,
	seq  INTEGER NOT NULL,
	PRIMARY KEY (skey, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS check_runs (
	id    INTEGER PRIMARY KEY, -- later runs have larger ids
	lo    INTEGER NOT NULL,    -- the seq range of the checks in the run
	hi    INTEGER NOT NULL,
	level INTEGER NOT NULL     -- 0: a flushed tail; n+1: a merge of level n
);
CREATE TABLE IF NOT EXISTS check_index (
	run  INTEGER NOT NULL,
	skey INTEGER NOT NULL,
	seq  INTEGER NOT NULL,
	PRIMARY KEY (run, skey, seq)
) WITHOUT ROWID;

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
			return
		}
		db.clerr = migrateCheckIndex(context.Background(), db.cldb)
	})
	return db.cldb, db.clerr
}

// Sizes of the access log's runs (variables for the tests).
var (
	checkTailFlush     = 16384 // tail entries that make a run
	checkRunFanout     = 16    // runs of a level merged into one of the next
	checkMaxMergeLevel = 1     // the highest level a merge makes
)

// migrateCheckIndex turns a check log written with the former index (one
// B-tree by subject, checks_skey) into one run holding every check, and
// drops that index: once, in one transaction.
func migrateCheckIndex(ctx context.Context, cl *sql.DB) error {
	conn, err := cl.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer conn.ExecContext(ctx, "ROLLBACK")
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'checks_skey'").Scan(&n); err != nil || n == 0 {
		return err
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO check_runs (id, lo, hi, level)
		SELECT coalesce((SELECT max(id) FROM check_runs), 0) + 1, min(seq), max(seq), ? FROM checks HAVING count(*) > 0`, checkMaxMergeLevel); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO check_index (run, skey, seq)
		SELECT (SELECT max(id) FROM check_runs), skey, seq FROM checks ORDER BY skey, seq`); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "DROP INDEX checks_skey"); err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

// indexChecks adds logged checks (pairs of subject key and seq, laid out
// one after another) to the access log's tail, in the transaction that
// logged them, and makes runs of the tail and merges runs when they are
// due.
func indexChecks(ctx context.Context, tx *sql.Tx, pairs []any) error {
	const perInsert = 128
	for i := 0; i < len(pairs); i += 2 * perInsert {
		part := pairs[i:min(i+2*perInsert, len(pairs))]
		q := "INSERT OR IGNORE INTO check_tail (skey, seq) VALUES " + strings.TrimSuffix(strings.Repeat("(?,?),", len(part)/2), ",")
		if _, err := tx.ExecContext(ctx, q, part...); err != nil {
			return err
		}
	}
	// Every check after the last run is in the tail.
	var tail int64
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(seq), 0) FROM checks) - (SELECT coalesce(max(hi), 0) FROM check_runs)`).Scan(&tail); err != nil {
		return err
	}
	if tail < int64(checkTailFlush) {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO check_runs (id, lo, hi, level)
		SELECT coalesce((SELECT max(id) FROM check_runs), 0) + 1, min(seq), max(seq), 0 FROM check_tail HAVING count(*) > 0`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO check_index (run, skey, seq)
		SELECT (SELECT max(id) FROM check_runs), skey, seq FROM check_tail ORDER BY skey, seq`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM check_tail"); err != nil {
		return err
	}
	for level := 0; level < checkMaxMergeLevel; level++ {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM check_runs WHERE level = ?", level).Scan(&n); err != nil {
			return err
		}
		if n < checkRunFanout {
			break
		}
		if err := mergeRuns(ctx, tx, level); err != nil {
			return err
		}
	}
	return nil
}

// mergeRuns merges the runs of a level into one run of the next.
func mergeRuns(ctx context.Context, tx *sql.Tx, level int) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO check_runs (id, lo, hi, level)
		SELECT (SELECT max(id) FROM check_runs) + 1, min(lo), max(hi), ? + 1 FROM check_runs WHERE level = ?`, level, level); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO check_index (run, skey, seq)
		SELECT (SELECT max(id) FROM check_runs), skey, seq FROM check_index
		WHERE run IN (SELECT id FROM check_runs WHERE level = ?) ORDER BY skey, seq`, level); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM check_index WHERE run IN (SELECT id FROM check_runs WHERE level = ?)`, level); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM check_runs WHERE level = ?`, level)
	return err
}

// checksOfQuery reads a subject's checks, newest first: the seqs under its
// key in the tail and in every run (one probe a run), then the rows, whose
// subject settles a collision of keys. (CROSS JOIN keeps the runs the
// outer loop, whatever the planner estimates.)
const checksOfQuery = `SELECT ` + checkCols + ` FROM checks WHERE seq IN (
	SELECT seq FROM check_tail WHERE skey = ?1
	UNION ALL
	SELECT ci.seq FROM check_runs r CROSS JOIN check_index ci ON ci.run = r.id AND ci.skey = ?1
) AND subject = ?2 ORDER BY seq DESC LIMIT ?3`

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
