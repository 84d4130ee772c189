package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"credo"
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
//   - When checkRunFanout live runs of a level exist, they are merged into
//     one run of the next level, a chunk of subject keys per batch of
//     checks logged (compactStep), so that no batch waits long. The merged
//     run is read only once complete; in the same transaction the runs it
//     replaces stop being read, and later batches delete their entries a
//     chunk at a time. Merges stop at level checkMaxMergeLevel (runs of 4
//     Mi checks), past which runs only accumulate: a subject's access log
//     reads the tail and every live run, one probe each, in one query.
//
// Every check is in the tail or in exactly one live run. Each step is part
// of a batch's transaction, so a crash leaves the previous state.

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
	id     INTEGER PRIMARY KEY,        -- later runs have larger ids
	lo     INTEGER NOT NULL,           -- the seq range of the checks in the run
	hi     INTEGER NOT NULL,
	level  INTEGER NOT NULL,           -- 0: a flushed tail; n+1: a merge of level n
	state  INTEGER NOT NULL DEFAULT 0, -- 0 live (read), 1 being merged into, 2 merged away (being deleted)
	chunks INTEGER NOT NULL DEFAULT 0, -- a run being merged into: the chunks of subject keys to copy,
	done   INTEGER NOT NULL DEFAULT 0  -- and how many are copied
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

-- One row rewritten by ProbeWrite: a small durable write that tells
-- whether the check log can be written.
CREATE TABLE IF NOT EXISTS check_probe (
	id INTEGER PRIMARY KEY,
	at TEXT NOT NULL
);
`

// CheckLogPath returns the file that holds the check log of the registry at path.
func CheckLogPath(path string) string { return path + ".checks" }

// checkLog opens the check log's file on first use. A failure to open it
// (a full disk, a file in the way) is not remembered: the next call tries
// again, so the check log recovers as soon as its cause goes away.
func (db *DB) checkLog() (*sql.DB, error) {
	cl, _, err := db.checkLogStmts()
	return cl, err
}

// checkLogStmts is checkLog with the cache of the check log's prepared
// statements.
func (db *DB) checkLogStmts() (*sql.DB, *stmtCache, error) {
	db.clMu.Lock()
	defer db.clMu.Unlock()
	if db.cldb != nil {
		return db.cldb, db.clStmts, nil
	}
	if db.clClosed {
		return nil, nil, credo.Errorf(credo.EUNAVAILABLE, "store is closed")
	}
	cl, err := openCheckLog(CheckLogPath(db.path))
	if err != nil {
		return nil, nil, err
	}
	db.cldb, db.clStmts = cl, &stmtCache{db: cl, m: map[string]*sql.Stmt{}}
	return cl, db.clStmts, nil
}

// stmtCache keeps the check log's statements prepared. Checks are written
// in groups of a few to a few hundred (group commit: a check is answered
// once its group is committed), and parsing the SQL of a group's dozen
// statements anew took most of the time of a small group.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[q]; ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.m[q] = st
	return st, nil
}

// clTx is a transaction of the check log whose statements are prepared
// once (database/sql keeps a statement prepared on each connection it
// was used on).
type clTx struct {
	*sql.Tx
	c *stmtCache
}

func (t *clTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := t.c.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
}

func (t *clTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := t.c.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
}

func (t *clTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := t.c.get(ctx, q)
	if err != nil {
		return t.Tx.QueryRowContext(ctx, q, args...) // fails the same way
	}
	return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

// rowsPerStmt returns how many rows of n left one multi-row statement
// carries: max, or fewer from a few fixed sizes, so that the statements
// stay few and prepared.
func rowsPerStmt(n, max int) int {
	for _, k := range []int{max, 16, 4} {
		if n >= k {
			return k
		}
	}
	return 1
}

// openCheckLog opens the check log's file, creating its tables.
func openCheckLog(path string) (*sql.DB, error) {
	if err := injectedFault("open"); err != nil {
		return nil, err
	}
	if err := createPrivate(path); err != nil { // 0600: the access log is personal data
		return nil, err
	}
	cl, err := sql.Open("sqlite", dsn(path,
		"busy_timeout(10000)",
		"page_size(1024)", // before the file is created
		"journal_mode(WAL)",
		"synchronous(FULL)",
		"temp_store(MEMORY)",
		"cache_size(-65536)",
		"journal_size_limit(67108864)",
	))
	if err != nil {
		return nil, err
	}
	cl.SetMaxOpenConns(4)
	if _, err := cl.ExecContext(context.Background(), checkLogSchema); err != nil {
		cl.Close()
		return nil, err
	}
	if err := migrateCheckIndex(context.Background(), cl); err != nil {
		cl.Close()
		return nil, err
	}
	return cl, nil
}

// faultHook, if set (tests only), is called before the check log's file
// is opened ("open") and before each write ("write"); an error it returns
// fails the operation as the disk would.
var faultHook atomic.Pointer[func(op string) error]

func injectedFault(op string) error {
	if h := faultHook.Load(); h != nil {
		return (*h)(op)
	}
	return nil
}

// Sizes of the access log's runs (variables for the tests).
var (
	checkTailFlush     = 16384 // tail entries that make a run
	checkRunFanout     = 16    // runs of a level merged into one of the next
	checkMaxMergeLevel = 2     // the highest level a merge makes (16,384 × 16² checks)
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
	if err := writeRun(ctx, conn, "checks", checkMaxMergeLevel); err != nil {
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
func indexChecks(ctx context.Context, tx *clTx, pairs []any) error {
	const perInsert = 128
	for i := 0; i < len(pairs); {
		n := rowsPerStmt((len(pairs)-i)/2, perInsert)
		part := pairs[i : i+2*n]
		i += 2 * n
		q := "INSERT OR IGNORE INTO check_tail (skey, seq) VALUES " + strings.TrimSuffix(strings.Repeat("(?,?),", n), ",")
		if _, err := tx.ExecContext(ctx, q, part...); err != nil {
			return err
		}
	}
	// Every check after the last run is in the tail.
	var tail int64
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT coalesce(max(seq), 0) FROM checks) - (SELECT coalesce(max(hi), 0) FROM check_runs)`).Scan(&tail); err != nil {
		return err
	}
	if tail >= int64(checkTailFlush) {
		if err := writeRun(ctx, tx, "check_tail", 0); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM check_tail"); err != nil {
			return err
		}
	}
	return compactStep(ctx, tx)
}

// writeRun writes the (subject key, seq) pairs of table (check_tail, or
// checks when migrating), in order, as a new live run of level: appended at
// the end of check_index, its pages written once and full.
func writeRun(ctx context.Context, ex interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}, table string, level int) error {
	if _, err := ex.ExecContext(ctx, `INSERT INTO check_runs (id, lo, hi, level)
		SELECT coalesce((SELECT max(id) FROM check_runs), 0) + 1, min(seq), max(seq), ? FROM `+table+` HAVING count(*) > 0`, level); err != nil {
		return err
	}
	_, err := ex.ExecContext(ctx, `INSERT INTO check_index (run, skey, seq)
		SELECT (SELECT max(id) FROM check_runs), skey, seq FROM `+table+` ORDER BY skey, seq`)
	return err
}

// checkChunk is the number of index entries one step of compaction
// copies or deletes: each batch of checks logged does at most one step, so
// a merge never holds the log's writer for long (a merge of 16 runs of
// 16,384 in one go took 0.75 s; a step takes a few tens of ms).
var checkChunk = 16384

// compactStep does one step of the runs' upkeep, in this order: copy the
// next chunk of subject keys of a merge in progress (the last one makes
// the merged run live and the merged ones dead in one go, so that readers
// see every check exactly once); else delete a chunk of a dead run's
// entries; else start a merge of a level that has checkRunFanout live runs.
func compactStep(ctx context.Context, tx *clTx) error {
	var id, level, chunks, done int64
	err := tx.QueryRowContext(ctx, `SELECT id, level, chunks, done FROM check_runs WHERE state = 1`).Scan(&id, &level, &chunks, &done)
	switch {
	case err == nil:
		lo, hi := keyChunk(done, chunks)
		if _, err := tx.ExecContext(ctx, `INSERT INTO check_index (run, skey, seq)
			SELECT ?1, skey, seq FROM check_index WHERE run IN (SELECT id FROM check_runs WHERE state = 0 AND level = ?2 AND id < ?1)
				AND skey >= ?3 AND skey <= ?4 ORDER BY skey, seq`, id, level-1, lo, hi); err != nil {
			return err
		}
		if done+1 < chunks {
			_, err := tx.ExecContext(ctx, `UPDATE check_runs SET done = done + 1 WHERE id = ?`, id)
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE check_runs SET state = 2 WHERE state = 0 AND level = ? AND id < ?`, level-1, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE check_runs SET state = 0, done = chunks WHERE id = ?`, id)
		return err
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	err = tx.QueryRowContext(ctx, `SELECT id FROM check_runs WHERE state = 2 ORDER BY id LIMIT 1`).Scan(&id)
	switch {
	case err == nil:
		// The first checkChunk entries of the run, by subject key.
		var skey, seq int64
		err := tx.QueryRowContext(ctx, `SELECT skey, seq FROM check_index WHERE run = ? ORDER BY skey, seq LIMIT 1 OFFSET ?`, id, checkChunk).Scan(&skey, &seq)
		if err == nil {
			_, err := tx.ExecContext(ctx, `DELETE FROM check_index WHERE run = ? AND (skey, seq) < (?, ?)`, id, skey, seq)
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM check_index WHERE run = ?`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM check_runs WHERE id = ?`, id)
		return err
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	// Start a merge of the lowest level with enough live runs.
	var entries int64
	err = tx.QueryRowContext(ctx, `SELECT level, count(*) FROM check_runs WHERE state = 0 AND level < ?
		GROUP BY level HAVING count(*) >= ? ORDER BY level LIMIT 1`, checkMaxMergeLevel, checkRunFanout).Scan(&level, &entries)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM check_index WHERE run IN (SELECT id FROM check_runs WHERE state = 0 AND level = ?)`, level).Scan(&entries); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO check_runs (id, lo, hi, level, state, chunks, done)
		SELECT (SELECT max(id) FROM check_runs) + 1, min(lo), max(hi), ?1 + 1, 1, ?2, 0 FROM check_runs WHERE state = 0 AND level = ?1`,
		level, max(1, (entries+int64(checkChunk)-1)/int64(checkChunk)))
	return err
}

// keyChunk returns the i-th of n equal ranges of subject keys (64-bit
// hashes, spread evenly), inclusive.
func keyChunk(i, n int64) (lo, hi int64) {
	step := ^uint64(0)/uint64(n) + 1
	lo = int64(uint64(i)*step + 1<<63) // from the smallest int64 up
	if i == n-1 {
		return lo, math.MaxInt64
	}
	return lo, int64(uint64(i+1)*step+1<<63) - 1
}

// checksOfQuery reads a subject's checks, newest first: the seqs under its
// key in the tail and in every run (one probe a run), then the rows, whose
// subject settles a collision of keys. (CROSS JOIN keeps the runs the
// outer loop, whatever the planner estimates.)
const checksOfQuery = `SELECT ` + checkCols + ` FROM checks WHERE seq IN (
	SELECT seq FROM check_tail WHERE skey = ?1
	UNION ALL
	SELECT ci.seq FROM check_runs r CROSS JOIN check_index ci ON ci.run = r.id AND ci.skey = ?1 WHERE r.state = 0
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

// probeMinFree is the least free space on the registry's disk for a write
// probe to pass: below it, writes are about to fail (a group of checks or
// records, a checkpoint).
const probeMinFree = 1 << 20

// ProbeWrite tells whether the store can write now: the disk that holds
// it has room, and the check log opens (again, after a failure) and takes
// a small durable write. The server's /readyz calls it while writes fail,
// to turn ready again as soon as the cause is gone.
func (db *DB) ProbeWrite(ctx context.Context) error {
	if free, ok := freeBytes(filepath.Dir(db.path)); ok && free < probeMinFree {
		return &credo.Error{Code: credo.EUNAVAILABLE, Op: "sqlite.ProbeWrite",
			Message: fmt.Sprintf("the store cannot work: the disk is full (%d bytes free in %s); retry later", free, filepath.Dir(db.path))}
	}
	cl, err := db.checkLog()
	if err != nil {
		return internal("ProbeWrite", err)
	}
	if err := injectedFault("write"); err != nil {
		return internal("ProbeWrite", err)
	}
	_, err = cl.ExecContext(ctx, `INSERT INTO check_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at`, utcText(db.opts.Now()))
	return internal("ProbeWrite", err)
}
