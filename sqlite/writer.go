package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"credo"
	"credo/internal/merkle"
	"credo/internal/storecore"
)

// writer is the state of the one writer connection. Only the committer
// goroutine touches it after Open.
type writer struct {
	conn *sql.Conn
	now  func() time.Time

	// seq and hash are the head of the log as written so far, including the
	// uncommitted transaction; the group runner restores them on rollback.
	seq  int64
	hash string

	stmts     map[string]*sql.Stmt // prepared by SQL text
	lookupSQL map[int]string       // record lookup by number of keys
	events    *multiInsert
	records   *multiInsert
	subjEvs   *multiInsert
	subjects  *multiInsert
	facts     *multiInsert // the facts projection (facts.go)

	// bulk is set during a bulk load (bulk.go).
	bulk atomic.Pointer[bulkState]

	// tree is the Merkle tree's edge; treeArgs the stored hashes queued
	// for treeRows; treeSeq the log size the tree had at the last commit.
	tree     merkle.Tree
	treeRows *multiInsert
	treeArgs []any
	treeSeq  int64
	noTree   bool // Options.NoTree
}

func newWriter(ctx context.Context, conn *sql.Conn, now func() time.Time) (*writer, error) {
	w := &writer{conn: conn, now: now, stmts: map[string]*sql.Stmt{}, lookupSQL: map[int]string{}}
	w.events = &multiInsert{w: w, cols: eventCols, head: insertEvents, row: eventValues}
	w.records = &multiInsert{w: w, cols: recordCols, head: insertRecords, row: recordValues}
	w.subjEvs = &multiInsert{w: w, cols: 2,
		head: "INSERT INTO subject_events (subject, seq) VALUES ", tail: " ON CONFLICT DO NOTHING"}
	w.subjects = &multiInsert{w: w, cols: 4,
		head: "INSERT INTO subjects (id, kind, first_seq, last_seq) VALUES ",
		tail: ` ON CONFLICT (id) DO UPDATE SET
			last_seq = max(subjects.last_seq, excluded.last_seq),
			first_seq = min(subjects.first_seq, excluded.first_seq),
			kind = CASE WHEN subjects.kind = 'unknown' THEN excluded.kind ELSE subjects.kind END`}
	w.treeRows = &multiInsert{w: w, cols: 2, head: "INSERT INTO tree_hashes (idx, hash) VALUES "}
	w.tree.Read = w.readTree
	if err := w.buildTree(); err != nil {
		return nil, internal("Open", fmt.Errorf("building the Merkle tree: %w", err))
	}
	w.treeSeq = w.seq
	return w, nil
}

// A row of events holds what the body does not, or what SQL filters on:
// seq, the type's code (storecore.TypeColumn), the body and its hash. The
// subject, recorded and prev_hash columns, which repeat the body, hold
// the empty text, 0 and the empty blob (no bytes of a record, only a byte
// of its header each): readers take them from the body
// (internal/storecore/columns.go). Rows written before keep them in
// full, and Verify still compares those with the body.
const (
	insertEvents = "INSERT INTO events (seq, type, subject, recorded, body, prev_hash, hash) VALUES "
	eventValues  = "(?,?,'',0,?,X'',?)"
	insertEvent  = insertEvents + eventValues
	eventCols    = 4
)

// A row of records holds what the log does not say or SQL filters on
// (migration 0096): its id, authority (the due-process views' filter),
// subject, the case key of its identity (storecore.CaseKey, indexed) and
// the status columns. The rule, case reference and dates are read from its
// record.filed event's body.
const (
	insertRecords = "INSERT INTO records (id, authority, subject, case_key) VALUES "
	recordValues  = "(?,?,?,?)"
	recordCols    = 4
)

// recordSubject returns a record's subject (sql.ErrNoRows if there is no
// such record): every row of the records table holds it (0096).
func (w *writer) recordSubject(id int64) (string, error) {
	var subject string
	err := w.queryRow("SELECT subject FROM records WHERE id = ?", id).Scan(&subject)
	return subject, err
}

// eventRow is the values of a row of insertEvent (and of the writer's
// multi-row insert of events).
func eventRow(seq int64, typ credo.EventType, body, hash []byte) []any {
	return []any{seq, storecore.TypeColumn(typ), body, hash}
}

// readHead sets seq and hash from the last event of the log.
func (w *writer) readHead() error {
	var seq int64
	var hash storecore.HashScan
	err := w.queryRow("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").Scan(&seq, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	w.seq, w.hash = seq, hash.Hex
	return nil
}

func (w *writer) close() error {
	var errs []error
	for _, s := range w.stmts {
		errs = append(errs, s.Close())
	}
	w.stmts = nil
	if w.conn != nil {
		errs = append(errs, w.conn.Close())
		w.conn = nil
	}
	return errors.Join(errs...)
}

// ctx is the context of the writer's statements. A statement is never
// interrupted halfway by a caller's cancellation: cancellation is checked
// between calls, and a call once started runs to its end.
var bg = context.Background()

// stmt returns the prepared statement for query, preparing it once.
func (w *writer) stmt(query string) (*sql.Stmt, error) {
	if s, ok := w.stmts[query]; ok {
		return s, nil
	}
	s, err := w.conn.PrepareContext(bg, query)
	if err != nil {
		return nil, err
	}
	w.stmts[query] = s
	return s, nil
}

// exec runs a prepared statement.
func (w *writer) exec(query string, args ...any) (sql.Result, error) {
	s, err := w.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(bg, args...)
}

// queryRow runs a prepared single-row query.
func (w *writer) queryRow(query string, args ...any) *sql.Row {
	s, err := w.stmt(query)
	if err != nil {
		// Surface the preparation error through Scan.
		return w.conn.QueryRowContext(bg, query, args...)
	}
	return s.QueryRowContext(bg, args...)
}

// maxRowsPerInsert is the largest multi-row INSERT (a power of two).
const maxRowsPerInsert = 64

// multiInsert inserts rows into one table with multi-row INSERT statements
// of 64, 32, ... 1 rows, so that n rows take at most n/64 + 6 statements,
// each prepared once.
type multiInsert struct {
	w          *writer
	cols       int    // values per row
	row        string // a row's SQL, if not cols placeholders
	head, tail string
	byRows     [7]string // SQL text for 1<<i rows
}

func (m *multiInsert) query(rows int) string {
	i := 0
	for 1<<i < rows {
		i++
	}
	if m.byRows[i] == "" {
		var b strings.Builder
		b.WriteString(m.head)
		row := m.row
		if row == "" {
			row = "(" + strings.Repeat("?,", m.cols-1) + "?)"
		}
		for r := 0; r < rows; r++ {
			if r > 0 {
				b.WriteByte(',')
			}
			b.WriteString(row)
		}
		b.WriteString(m.tail)
		m.byRows[i] = b.String()
	}
	return m.byRows[i]
}

// exec inserts the rows whose values are laid out one after another in args.
func (m *multiInsert) exec(args []any) error {
	if len(args)%m.cols != 0 {
		return fmt.Errorf("multiInsert: %d values for %d columns", len(args), m.cols)
	}
	n := len(args) / m.cols
	for n > 0 {
		rows := maxRowsPerInsert
		for rows > n {
			rows >>= 1
		}
		k := rows * m.cols
		if _, err := m.w.exec(m.query(rows), args[:k]...); err != nil {
			return err
		}
		args, n = args[k:], n-rows
	}
	return nil
}

// saveHead writes the head row; called once per transaction before COMMIT.
func (w *writer) saveHead() error {
	_, err := w.exec(`INSERT INTO head (id, seq, hash) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, w.seq, storecore.RawHash(w.hash))
	return err
}

// now returns the transaction time: UTC, truncated to microseconds.
func (w *writer) stamp() time.Time {
	return w.now().UTC().Truncate(time.Microsecond)
}

// request is one write call waiting for the committer.
type request struct {
	ctx  context.Context
	op   string
	recs []*credo.Record     // FileRecords
	evs  []*credo.Event      // Append
	fn   func(*writer) error // StartBulk, EndBulk: run alone, outside a group

	results []credo.FileResult
	events  []*credo.Event
	err     error
	done    chan struct{}
}

// size is the number of records or events the request carries.
func (r *request) size() int { return len(r.recs) + len(r.evs) }

// run executes the request against the open transaction.
func (r *request) run(w *writer) error {
	var err error
	if r.op == "FileRecords" {
		r.results, err = w.fileRecords(r.recs)
	} else {
		r.events, err = w.append(r.evs)
	}
	return err
}

// submit queues a request for the committer and waits for its outcome. If
// ctx ends first, the caller gets an EUNAVAILABLE error wrapping ctx.Err();
// a request the committer has already started still commits (filing is
// idempotent, so retrying is safe).
func (db *DB) submit(req *request) error {
	req.done = make(chan struct{})
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return credo.Errorf(credo.EUNAVAILABLE, "store is closed")
	}
	select {
	case db.reqs <- req:
	case <-req.ctx.Done():
		db.mu.RUnlock()
		return cancelled(req.op, req.ctx.Err())
	}
	db.mu.RUnlock()
	select {
	case <-req.done:
		return req.err
	case <-req.ctx.Done():
		return cancelled(req.op, req.ctx.Err())
	}
}

func cancelled(op string, err error) error {
	return &credo.Error{Code: credo.EUNAVAILABLE, Op: "sqlite." + op, Message: "request abandoned: " + err.Error(), Err: err}
}

// commitLoop is the committer goroutine: the group commit.
//
// Every write (FileRecords, Append) is a request on db.reqs. The committer
// takes the first request, then every other request already queued (up to
// MaxGroup calls and MaxGroupRecords records; optionally waiting Linger for
// more), and commits them all in one transaction: one WAL append and one
// fsync for the group. While it syncs, new requests queue up and form the
// next group, so the group size adapts to the load with no timer: an idle
// store commits a lone call at once, a busy one commits hundreds per fsync.
//
// Each request keeps its own atomicity and its own outcome. A group of
// FileRecords calls is first tried as one combined batch (the fast path:
// one lookup and multi-row inserts for all of them); if that fails, say one
// call conflicts, the transaction is rolled back and every call is run
// again under its own SAVEPOINT, so a failing call is rolled back alone and
// the others still commit, in one transaction. If COMMIT itself fails,
// every call of the group gets the error.
func (db *DB) commitLoop() {
	defer close(db.done)
	var group []*request
	for {
		var first *request
		select {
		case first = <-db.reqs:
		case <-db.quit:
			// Close has stopped new sends; commit what is left.
			for {
				select {
				case r := <-db.reqs:
					db.runGroups([]*request{r})
				default:
					// A bulk load not ended is ended now (bulk.go).
					db.bulkErr = db.endBulk(db.w)
					return
				}
			}
		}
		group = append(group[:0], first)
		n := first.size()
		var linger <-chan time.Time
		if db.opts.Linger > 0 {
			linger = time.After(db.opts.Linger)
		}
	collect:
		for len(group) < db.opts.MaxGroup && n < db.opts.MaxGroupRecords {
			select {
			case r := <-db.reqs:
				group = append(group, r)
				n += r.size()
			default:
				if linger == nil {
					break collect
				}
				select {
				case r := <-db.reqs:
					group = append(group, r)
					n += r.size()
				case <-linger:
					break collect
				}
			}
		}
		db.runGroups(group)
		clear(group)
	}
}

// runGroups runs a group of requests: the requests with their own
// function (fn) alone, in order, and the others in groups between them.
func (db *DB) runGroups(group []*request) {
	for len(group) > 0 {
		i := slices.IndexFunc(group, func(r *request) bool { return r.fn != nil })
		if i < 0 {
			db.runGroup(group)
			return
		}
		if i > 0 {
			db.runGroup(group[:i])
		}
		r := group[i]
		if err := r.ctx.Err(); err != nil {
			r.err = cancelled(r.op, err)
		} else {
			r.err = r.fn(db.w)
		}
		close(r.done)
		group = group[i+1:]
	}
}

// runGroup commits a group of requests in one transaction and answers each.
func (db *DB) runGroup(group []*request) {
	w := db.w
	defer func() {
		for _, r := range group {
			close(r.done)
		}
	}()
	live := group[:0:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = cancelled(r.op, err)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	var startSeq int64
	var startHash string
	restore := func(seq int64, hash string) {
		w.seq, w.hash = seq, hash
		if b := w.bulk.Load(); b != nil {
			b.rows.trim(seq) // the rows of the records rolled back
		}
	}
	fail := func(err error) {
		restore(startSeq, startHash)
		w.dropTree()
		w.tree.Reset()
		w.rollback()
		for _, r := range live {
			if r.err == nil {
				r.err = internal(r.op, err)
			}
			r.results, r.events = nil, nil
		}
	}
	// begin opens the transaction. The cached head is only a cache:
	// re-read the end of the log under the write lock, in case another
	// process has written to the file.
	begin := func() error {
		if _, err := w.exec("BEGIN IMMEDIATE"); err != nil {
			return err
		}
		if err := w.readHead(); err != nil {
			return err
		}
		if err := w.headAgrees(); err != nil {
			return err
		}
		startSeq, startHash = w.seq, w.hash
		if w.seq != w.treeSeq {
			// Another process wrote to the file: the tree's edge is stale.
			w.tree.Reset()
			w.treeSeq = w.seq
		}
		return nil
	}
	if err := begin(); err != nil {
		fail(err)
		return
	}
	switch {
	case len(live) == 1:
		r := live[0]
		if r.err = r.run(w); r.err != nil {
			restore(startSeq, startHash)
			w.rollback()
			return
		}
	case runCombined(w, live):
	default:
		// The combined batch failed (or the group mixes calls): start
		// over and run each call under its own savepoint.
		restore(startSeq, startHash)
		w.rollback()
		if err := begin(); err != nil {
			fail(err)
			return
		}
		for _, r := range live {
			seq, hash := w.seq, w.hash
			if _, err := w.exec("SAVEPOINT call"); err != nil {
				fail(err)
				return
			}
			if r.err = r.run(w); r.err != nil {
				restore(seq, hash)
				if _, err := w.exec("ROLLBACK TO call"); err != nil {
					fail(err)
					return
				}
			}
			if _, err := w.exec("RELEASE call"); err != nil {
				fail(err)
				return
			}
		}
	}
	if w.seq == startSeq {
		// Nothing written (every call failed or was a no-op).
		w.rollback()
		return
	}
	if err := w.saveHead(); err != nil {
		fail(err)
		return
	}
	if _, err := w.exec("COMMIT"); err != nil {
		fail(err)
		return
	}
	w.treeSeq = w.seq
	db.head.Store(&headState{seq: w.seq, hash: w.hash})
	if b := w.bulk.Load(); b != nil && b.rows.full() {
		// Committed rows only. If the run cannot be written (say the
		// disk is full), the rows stay in memory and the next commit
		// tries again.
		_ = b.rows.spill()
	}
	db.boundWAL(w)
	select {
	case db.ckpt <- struct{}{}:
	default:
	}
}

// walHardLimit is the size of the write-ahead log file from which the
// committer restarts the log itself, between two transactions. The
// checkpointer normally does it first (from 64 MiB of frames); under heavy
// load it can fall behind back-to-back bulk commits, and this bounds the
// log regardless of scheduling.
const walHardLimit = 160 << 20

// boundWAL restarts the write-ahead log when the checkpointer has fallen
// behind: a RESTART checkpoint on the writer's own connection (so no other
// writer can slip in), after which journal_size_limit cuts the file back.
func (db *DB) boundWAL(w *writer) {
	if db.opts.CheckpointInterval < 0 {
		return // SQLite's own checkpoints
	}
	fi, err := os.Stat(db.path + "-wal")
	if err != nil || fi.Size() < walHardLimit {
		return
	}
	// The checkpointer's own (passive) checkpoint makes RESTART busy while
	// it runs: try again a few times rather than let the log grow by
	// another batch.
	for range 20 {
		var busy, frames, done int
		if err := w.queryRow("PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &frames, &done); err != nil || busy == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runCombined runs a group of FileRecords calls as one batch, in the
// open transaction, and splits the results. It reports false if the group
// has other calls or the batch fails; the caller then rolls back. (No
// savepoint here: inside one, SQLite copies every page it changes to a
// statement journal, which costs more than the rare retry.)
func runCombined(w *writer, group []*request) bool {
	var all []*credo.Record
	for _, r := range group {
		if r.op != "FileRecords" {
			return false
		}
		all = append(all, r.recs...)
	}
	res, err := w.fileRecords(all)
	if err != nil {
		return false
	}
	for _, r := range group {
		r.results, res = res[:len(r.recs):len(r.recs)], res[len(r.recs):]
	}
	return true
}

// rollback ends the open transaction, if any.
func (w *writer) rollback() {
	w.conn.ExecContext(bg, "ROLLBACK") // "no transaction is active" is fine
}
