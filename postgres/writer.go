package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"credo"
	"credo/internal/merkle"
	"credo/internal/storecore"
)

// writer is the state of the committer. Only the committer goroutine
// touches it after Open.
type writer struct {
	pool *pgxpool.Pool
	opts Options
	// conn is the connection of the open transaction, taken from the pool
	// for the group (so that a connection the server dropped is replaced).
	// The transaction is driven by hand (BEGIN and COMMIT in the batches),
	// so that taking the log lock and committing cost no round trip of
	// their own.
	conn *pgx.Conn

	// seq and hash are the head of the log as written so far, including the
	// open transaction; the group runner restores them on rollback.
	seq  int64
	hash string

	// batch holds the statements queued but not yet sent: writes are sent
	// together, in one round trip, before the next read or at commit.
	batch *pgx.Batch
	// spQueued: the batch starts with the SAVEPOINT of the current call,
	// not yet sent.
	spQueued bool

	// copyBufs are the COPY streams of the bulk path, kept between batches.
	copyBufs [4]*copyBuf

	// tree is the Merkle tree's edge; treeIdx and treeHash the stored
	// hashes not yet queued; treeSeq the log size at the last commit.
	tree     merkle.Tree
	treeIdx  []int64
	treeHash [][]byte
	treeSeq  int64
}

func newWriter(pool *pgxpool.Pool, opts Options) *writer {
	w := &writer{pool: pool, opts: opts, batch: &pgx.Batch{}, treeSeq: -1}
	w.tree.Read = w.readTree
	return w
}

// bg is the context of the writer's statements. A statement is never
// interrupted halfway by a caller's cancellation: cancellation is checked
// between calls, and a call once started runs to its end.
var bg = context.Background()

// queue queues a write for the next round trip.
func (w *writer) queue(sql string, args ...any) *pgx.QueuedQuery {
	return w.batch.Queue(sql, args...)
}

// flush sends the queued statements and reports the first error.
func (w *writer) flush() error {
	if w.batch.Len() == 0 {
		return nil
	}
	b := w.batch
	w.batch = &pgx.Batch{}
	w.spQueued = false
	return w.conn.SendBatch(bg, b).Close()
}

// discard drops the queued statements; it reports whether the current
// call's SAVEPOINT was among them (and so was never sent).
func (w *writer) discard() (savepointUnsent bool) {
	savepointUnsent = w.spQueued
	w.batch = &pgx.Batch{}
	w.spQueued = false
	return savepointUnsent
}

// rollback ends the open transaction, if any.
func (w *writer) rollback() {
	w.discard()
	w.conn.Exec(bg, "ROLLBACK") // "no transaction in progress" is a warning
}

// errRow is a pgx.Row that fails with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// queryRow sends the queued writes, then runs a single-row query.
func (w *writer) queryRow(sql string, args ...any) pgx.Row {
	if err := w.flush(); err != nil {
		return errRow{err}
	}
	return w.conn.QueryRow(bg, sql, args...)
}

// exec sends the queued writes and sql with them.
func (w *writer) exec(sql string, args ...any) (pgconn.CommandTag, error) {
	if err := w.flush(); err != nil {
		return pgconn.CommandTag{}, err
	}
	return w.conn.Exec(bg, sql, args...)
}

// stamp returns the transaction time: UTC, truncated to microseconds.
func (w *writer) stamp() time.Time {
	return w.opts.Now().UTC().Truncate(time.Microsecond)
}

// request is one write call waiting for the committer.
type request struct {
	ctx  context.Context
	op   string
	recs []*credo.Record // FileRecords
	evs  []*credo.Event  // Append

	results []credo.FileResult
	events  []*credo.Event
	err     error
	done    chan struct{}
}

// size is the number of records or events the request carries.
func (r *request) size() int { return len(r.recs) + len(r.evs) }

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
	return &credo.Error{Code: credo.EUNAVAILABLE, Op: "postgres." + op, Message: "request abandoned: " + err.Error(), Err: err}
}

// commitLoop is the committer goroutine: the group commit.
//
// Every write (FileRecords, Append) is a request on db.reqs. The committer
// takes the first request, then every other request already queued (up to
// MaxGroup calls and MaxGroupRecords records), and commits them all in one
// transaction: one lock of the log head, one WAL flush for the group.
// While it commits, new requests queue up and form the next group, so the
// group size adapts to the load with no timer.
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
					db.runGroup([]*request{r})
				default:
					return
				}
			}
		}
		group = append(group[:0], first)
		n := first.size()
	collect:
		for len(group) < db.opts.MaxGroup && n < db.opts.MaxGroupRecords {
			select {
			case r := <-db.reqs:
				group = append(group, r)
				n += r.size()
			default:
				break collect
			}
		}
		db.runGroup(group)
		clear(group)
	}
}

// runGroup commits a group of requests in one transaction and answers each.
//
// The transaction opens with the lock of the log head (see the package
// documentation), in the same round trip as BEGIN and the lookup of the
// records the first calls file. Consecutive FileRecords calls are resolved
// together: one lookup of every key, then each call in turn is checked
// against what is stored and what the calls before it created, in Go,
// before anything is written, so a call that conflicts fails alone and the
// others' records are inserted together. An Append call runs under its own
// SAVEPOINT (when the group has more than one call), so a failing call is
// rolled back alone. The last writes, the move of the head and COMMIT go
// in one round trip. If the transaction itself fails, every call of the
// group gets the error.
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
	fail := func(err error) {
		w.dropTree()
		w.tree.Reset()
		if w.conn != nil {
			w.rollback()
		}
		for _, r := range live {
			if r.err == nil {
				r.err = internal(r.op, err)
			}
			r.results, r.events = nil, nil
		}
	}
	pc, err := w.pool.Acquire(bg)
	if err != nil {
		fail(err)
		return
	}
	w.conn = pc.Conn()
	defer func() {
		w.conn = nil
		pc.Release() // a broken connection is destroyed, not reused
	}()

	// BEGIN, the lock that orders every append on every node, and the
	// lookup of the first run of filings, in one round trip.
	w.queue("BEGIN")
	w.queue("SELECT seq, hash FROM log_head WHERE id = 1 FOR UPDATE").QueryRow(func(row pgx.Row) error {
		var h storecore.HashScan
		err := row.Scan(&w.seq, &h)
		w.hash = h.Hex
		return err
	})
	var last lastEvent
	w.queueLastEvent(&last)
	var stored map[recKey]*credo.Record
	var firstRun int
	for firstRun < len(live) && live[firstRun].op == "FileRecords" {
		firstRun++
	}
	if firstRun > 0 {
		stored = w.queueLookup(groupKeys(live[:firstRun]))
	}
	if err := w.flush(); err != nil {
		fail(err)
		return
	}
	if err := last.agrees(w); err != nil {
		fail(err)
		return
	}
	startSeq := w.seq
	if w.seq != w.treeSeq {
		// Another node appended: the tree's edge is stale.
		w.tree.Reset()
		w.treeSeq = w.seq
	}
	for i := 0; i < len(live); {
		if live[i].op == "FileRecords" {
			j := i + 1
			for j < len(live) && live[j].op == "FileRecords" {
				j++
			}
			if i > 0 {
				stored = nil
			}
			if err := w.fileGroup(live[i:j], stored); err != nil {
				fail(err)
				return
			}
			i = j
			continue
		}
		r := live[i]
		i++
		if len(live) == 1 {
			// The whole transaction is this call's: its writes go with
			// the COMMIT, and its failure is the transaction's.
			if r.events, r.err = w.append(r.evs); r.err != nil {
				r.events = nil
				r.err = internal(r.op, r.err)
				w.rollback()
				return
			}
			continue
		}
		// The writes queued so far belong to the calls before: send
		// them, so that rolling this call back cannot drop them.
		if err := w.flush(); err != nil {
			fail(err)
			return
		}
		seq, hash := w.seq, w.hash
		w.flushTree()
		w.queue("SAVEPOINT call")
		w.spQueued = true
		if r.err = r.run(w); r.err != nil {
			w.seq, w.hash = seq, hash
			if !w.discard() {
				if _, err := w.conn.Exec(bg, "ROLLBACK TO SAVEPOINT call"); err != nil {
					fail(err)
					return
				}
			}
			continue
		}
		w.queue("RELEASE SAVEPOINT call")
	}
	if w.seq == startSeq {
		// Nothing appended (every call failed or was a no-op).
		w.rollback()
		return
	}
	w.queue("UPDATE log_head SET seq = $1, hash = $2 WHERE id = 1", w.seq, storecore.RawHash(w.hash))
	w.queue("COMMIT")
	if err := w.flush(); err != nil {
		// Nothing after the failed statement ran: not committed.
		fail(err)
		return
	}
	w.treeSeq = w.seq
}

// run executes an Append request of a group against the open transaction,
// under its savepoint.
func (r *request) run(w *writer) error {
	var err error
	r.events, err = w.append(r.evs)
	if err == nil {
		err = w.flush() // its writes must succeed before it counts as done
	}
	if err != nil {
		r.events = nil
		return internal(r.op, err)
	}
	return nil
}
