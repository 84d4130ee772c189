package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"

	"credo"
	"credo/internal/storecore"
)

// A bulk load fills a fresh registry faster than filing batch after
// batch, with the same result byte for byte (the same events, hashes and
// projections): between StartBulk and EndBulk,
//
//   - the idempotency of filing is checked against the keys of the
//     records filed since StartBulk, kept in memory (a hash of each
//     (authority, case reference) and the record's id: a match is read
//     back and compared), instead of a query per batch; the index
//     records_case, which only that query needs, is dropped, and created
//     again (one sort) by EndBulk;
//   - the rows the records, and the events appended meanwhile (links,
//     notices: bulkable), project into the tables keyed by subject
//     (subject_events, facts, subjects), whose inserts would land at
//     random places in their indexes, are not written: the process keeps
//     them (subject, seq and fact), in memory up to Options.BulkRunBytes,
//     then sorted by (subject, seq) into a run file in <db>.bulk/ (or
//     under Options.BulkDir). EndBulk merges the runs and the rows in
//     memory and inserts them in key order (packed pages, no sort by
//     SQLite), over several transactions, then deletes the run files.
//
// The events' other projections (records, links, notices…) are written as
// usual. Until EndBulk, reads of a subject's events, facts and subject row
// miss the events filed in bulk, and reads of a record by its identity
// scan the records table.
//
// StartBulk commits a marker (the bulk_load row, migration 0097: the head
// of the log at the start) with the index's drop. Close during a bulk load
// ends it (as EndBulk). A store opened with the marker present (the
// process was killed, or EndBulk failed) discards the run files, which
// are never synced, and rebuilds the rows of the records filed after the
// marker's head from the log (recoverBulk), skipping the subjects EndBulk
// had already written (the marker's done), then creates the index and
// deletes the marker. The load holds a lock on <db>.bulk/lock while it
// runs: a store opened meanwhile (another process) leaves it alone.
//
// A registry left in a bulk load by a binary before migration 0097 has
// its rows staged in the tables bulk_subject_events and bulk_facts: Open
// moves them into their tables (moveStaged).

type bulkState struct {
	seed maphash.Seed
	keys map[uint64]int64 // hash of (authority, case reference) -> record id
	rows *bulkRows        // the records' rows of subject_events, facts, subjects
	lock *os.File         // <db>.bulk/lock, locked while the load runs
}

// errLocked is the error of lockFile when another holds the lock.
var errLocked = errors.New("locked")

// bulkLock creates a bulk load's directory and takes its lock.
func bulkLock(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return lockFile(filepath.Join(dir, "lock"))
}

func (b *bulkState) key(k recKey) uint64 {
	var h maphash.Hash
	h.SetSeed(b.seed)
	h.WriteString(k.authority)
	h.WriteByte(0)
	h.WriteString(k.caseRef)
	return h.Sum64()
}

// createRecordsCase is the index of records by identity (as migration
// 0096 creates it).
const createRecordsCase = "CREATE INDEX IF NOT EXISTS records_case ON records (case_key)"

// StartBulk starts a bulk load into a registry that has no records yet
// (EINVALID otherwise, or if a bulk load is running). Call it before
// filing, and EndBulk after the last filing has returned.
func (db *DB) StartBulk(ctx context.Context) error {
	return db.submit(&request{ctx: ctx, op: "StartBulk", fn: db.startBulk})
}

func (db *DB) startBulk(w *writer) (err error) {
	if w.bulk.Load() != nil {
		return credo.Errorf(credo.EINVALID, "a bulk load is already running")
	}
	if _, err := w.exec("BEGIN IMMEDIATE"); err != nil {
		return internal("StartBulk", err)
	}
	defer func() {
		if err != nil {
			w.rollback()
		}
	}()
	if err := w.readHead(); err != nil {
		return internal("StartBulk", err)
	}
	var records, running bool
	if err := w.queryRow("SELECT EXISTS (SELECT 1 FROM records), EXISTS (SELECT 1 FROM bulk_load)").Scan(&records, &running); err != nil {
		return internal("StartBulk", err)
	}
	if records {
		return credo.Errorf(credo.EINVALID, "a bulk load is for a registry without records: this one has records (file them in batches instead)")
	}
	if running {
		return credo.Errorf(credo.EINVALID, "a bulk load is already running")
	}
	dir := db.bulkDir()
	if err := removeBulkDir(dir); err != nil {
		return internal("StartBulk", err)
	}
	lock, err := bulkLock(dir)
	if err != nil {
		return internal("StartBulk", err)
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	if _, err := w.conn.ExecContext(bg, "DROP INDEX IF EXISTS records_case"); err != nil {
		return internal("StartBulk", err)
	}
	if _, err := w.exec("INSERT INTO bulk_load (id, from_seq) VALUES (1, ?)", w.seq); err != nil {
		return internal("StartBulk", err)
	}
	if _, err := w.exec("COMMIT"); err != nil {
		return internal("StartBulk", err)
	}
	w.bulk.Store(&bulkState{seed: maphash.MakeSeed(), keys: map[uint64]int64{},
		rows: newBulkRows(dir, db.opts.BulkRunBytes), lock: lock})
	return nil
}

// EndBulk ends a bulk load: the rows kept are written into their tables,
// in key order, and records_case is created. If it fails, the load is not
// ended: EndBulk (or Close) can be called again, and a store opened with
// a load not ended ends it from the log.
func (db *DB) EndBulk(ctx context.Context) error {
	return db.submit(&request{ctx: ctx, op: "EndBulk", fn: db.endBulk})
}

// endBulk ends the bulk load, if one is running (on the committer).
func (db *DB) endBulk(w *writer) error {
	b := w.bulk.Load()
	if b == nil {
		return nil
	}
	if err := db.writeBulkRows(w, b.rows, db.walCommitted); err != nil {
		return internal("EndBulk", err)
	}
	w.bulk.Store(nil)
	err := b.rows.discard()
	return internal("EndBulk", errors.Join(err, b.lock.Close()))
}

// walCommitted is what follows a commit of the committer: the
// checkpointer is told, and the log bounded.
func (db *DB) walCommitted(w *writer) {
	db.boundWAL(w)
	select {
	case db.ckpt <- struct{}{}:
	default:
	}
}

// writeBulkRows writes rows (sorted runs and rows in memory) into
// subject_events, facts and subjects in (subject, seq) order, skipping
// the subjects up to the marker's done, in transactions of about
// bulkTxRows rows that each end at a subject's end and record it as done;
// the last one creates records_case and deletes the marker. committed is
// called after each commit.
func (db *DB) writeBulkRows(w *writer, rows *bulkRows, committed func(*writer)) (err error) {
	var done sql.NullString
	if err := w.queryRow("SELECT done FROM bulk_load WHERE id = 1").Scan(&done); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, err := w.exec("BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			w.rollback()
		}
	}()
	const batch = maxRowsPerInsert * 16
	bw := &bulkWriter{w: w, committed: committed, facts: &multiInsert{w: w, cols: 3,
		head: "INSERT INTO facts (subject, seq, body) VALUES ", tail: " ON CONFLICT DO NOTHING"},
		seArgs: make([]any, 0, 2*batch), factArgs: make([]any, 0, 3*batch), subjArgs: make([]any, 0, 4*batch)}
	err = rows.merge(func(subject []byte, seq int64, fact []byte) error {
		if done.Valid && string(subject) <= done.String {
			return nil
		}
		return bw.row(subject, seq, fact)
	})
	if err != nil {
		return err
	}
	if err := bw.end(); err != nil {
		return err
	}
	// The index is sorted once; at the size of a city the sort spills to
	// temporary files, not memory (a pragma set outside transactions).
	if _, err := w.conn.ExecContext(bg, "PRAGMA temp_store = FILE"); err != nil {
		return err
	}
	defer w.conn.ExecContext(bg, "PRAGMA temp_store = MEMORY")
	if _, err := w.exec("BEGIN IMMEDIATE"); err != nil {
		return err
	}
	for _, q := range []string{createRecordsCase, "DELETE FROM bulk_load"} {
		if _, err := w.conn.ExecContext(bg, q); err != nil {
			return err
		}
	}
	if _, err := w.exec("COMMIT"); err != nil {
		return err
	}
	committed(w)
	// Pages freed during the load go back to the file system (a file made
	// with auto_vacuum = INCREMENTAL: every new one; a no-op otherwise).
	_, err = w.conn.ExecContext(bg, "PRAGMA incremental_vacuum")
	return err
}

// bulkWriter inserts the merged rows of a bulk load, in (subject, seq)
// order, in the open transaction, which it commits at a subject's end
// every bulkTxRows rows or so.
type bulkWriter struct {
	w         *writer
	committed func(*writer)
	// facts inserts facts rows, as writer.factRows, but a row already
	// there is left as it is (the same row: the rows are the log's), as
	// subject_events and subjects do: after a crash, the rows of records
	// filed by another store during the load can be there.
	facts *multiInsert

	seArgs, factArgs, subjArgs []any
	factBytes                  []byte // the facts of factArgs (the merge's slices are reused)

	cur         string // the subject of the rows being read
	first, last int64  // its first and last seq
	have        bool   // cur is set
	n           int    // rows since the last commit
}

// row adds a row.
func (bw *bulkWriter) row(subject []byte, seq int64, fact []byte) error {
	if !bw.have || string(subject) != bw.cur {
		if bw.have {
			if err := bw.endSubject(); err != nil {
				return err
			}
			if bw.n >= bulkTxRows {
				if err := bw.commit(); err != nil {
					return err
				}
			}
		}
		bw.cur, bw.first, bw.have = string(subject), seq, true
	}
	bw.last = seq
	bw.n++
	bw.seArgs = append(bw.seArgs, bw.cur, seq)
	if len(fact) > 0 {
		if len(bw.factBytes)+len(fact) > cap(bw.factBytes) {
			bw.factBytes = make([]byte, 0, max(64<<10, len(fact)))
		}
		start := len(bw.factBytes)
		bw.factBytes = append(bw.factBytes, fact...)
		bw.factArgs = append(bw.factArgs, bw.cur, seq, bw.factBytes[start:len(bw.factBytes):len(bw.factBytes)])
	}
	if len(bw.seArgs) == cap(bw.seArgs) || len(bw.factArgs) == cap(bw.factArgs) {
		return bw.flush()
	}
	return nil
}

// endSubject adds the subjects row of cur: as storecore.SubjectSet.Add(cur,
// seq, "") for each of its rows, upserted as writer.subjects does.
func (bw *bulkWriter) endSubject() error {
	bw.subjArgs = append(bw.subjArgs, bw.cur, storecore.SubjectKind(bw.cur), bw.first, bw.last)
	if len(bw.subjArgs) == cap(bw.subjArgs) {
		return bw.flush()
	}
	return nil
}

// flush inserts the rows added.
func (bw *bulkWriter) flush() error {
	if err := bw.w.subjEvs.exec(bw.seArgs); err != nil {
		return err
	}
	if err := bw.facts.exec(bw.factArgs); err != nil {
		return err
	}
	if err := bw.w.subjects.exec(bw.subjArgs); err != nil {
		return err
	}
	bw.seArgs, bw.factArgs, bw.subjArgs, bw.factBytes = bw.seArgs[:0], bw.factArgs[:0], bw.subjArgs[:0], bw.factBytes[:0]
	return nil
}

// commit inserts the rows added, up to the end of subject cur, records cur
// as done and commits.
func (bw *bulkWriter) commit() error {
	if err := bw.flush(); err != nil {
		return err
	}
	if _, err := bw.w.exec("UPDATE bulk_load SET done = ? WHERE id = 1", bw.cur); err != nil {
		return err
	}
	if _, err := bw.w.exec("COMMIT"); err != nil {
		return err
	}
	bw.committed(bw.w)
	if bulkFault != nil {
		if err := bulkFault(); err != nil {
			return err
		}
	}
	bw.n = 0
	_, err := bw.w.exec("BEGIN IMMEDIATE")
	return err
}

// end commits the last rows (without the fault of tests).
func (bw *bulkWriter) end() error {
	if bw.have {
		if err := bw.endSubject(); err != nil {
			return err
		}
		if _, err := bw.w.exec("UPDATE bulk_load SET done = ? WHERE id = 1", bw.cur); err != nil {
			return err
		}
	}
	if err := bw.flush(); err != nil {
		return err
	}
	if _, err := bw.w.exec("COMMIT"); err != nil {
		return err
	}
	bw.committed(bw.w)
	return nil
}

// recoverBulk ends a bulk load cut short (the bulk_load row is there when
// the store is opened): the run files are discarded and the rows of the
// records filed after the marker's head are read again from the log, then
// written as EndBulk does. Open calls it before the committer starts.
func (db *DB) recoverBulk() error {
	w := db.w
	var from int64
	err := w.queryRow("SELECT from_seq FROM bulk_load WHERE id = 1").Scan(&from)
	if errors.Is(err, sql.ErrNoRows) {
		return internal("Open", removeStaleBulkDir(db.bulkDir()))
	}
	if err != nil {
		return internal("Open", err)
	}
	// A load still running (another process, or another DB of this one)
	// holds the lock of its directory: it is left to end itself.
	dir := db.bulkDir()
	lock, err := bulkLock(dir)
	if errors.Is(err, errLocked) {
		return nil
	}
	if err != nil {
		return internal("Open", err)
	}
	defer lock.Close()
	rows := newBulkRows(dir, db.opts.BulkRunBytes)
	names, _ := filepath.Glob(filepath.Join(dir, "run-*"))
	for _, n := range names {
		if err := os.Remove(n); err != nil {
			return internal("Open", err)
		}
	}
	if err := w.bulkRowsFromLog(rows, from); err != nil {
		return internal("Open", fmt.Errorf("reading a bulk load cut short from the log: %w", err))
	}
	if err := db.writeBulkRows(w, rows, db.boundWAL); err != nil {
		return internal("Open", fmt.Errorf("ending a bulk load cut short: %w", err))
	}
	return internal("Open", rows.discard())
}

// removeStaleBulkDir removes the directory of a bulk load that has ended
// (but not removed it), unless a load holds its lock (one starting).
func removeStaleBulkDir(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	lock, err := lockFile(filepath.Join(dir, "lock"))
	if errors.Is(err, errLocked) {
		return nil
	}
	if err != nil {
		return err
	}
	defer lock.Close()
	return removeBulkDir(dir)
}

// bulkRowsFromLog adds to rows the rows of subject_events, facts and
// subjects of the events after seq from that a bulk load keeps for EndBulk
// (bulkable: the records', the links', the notices'), as Append derives
// them (bulkRows.addEvent).
func (w *writer) bulkRowsFromLog(rows *bulkRows, from int64) error {
	var bodies [][]byte
	var hashes []string
	for after := from; ; {
		rs, err := w.conn.QueryContext(bg, "SELECT seq, type, body, hash FROM events WHERE seq > ? ORDER BY seq LIMIT 20000", after)
		if err != nil {
			return err
		}
		bodies, hashes = bodies[:0], hashes[:0]
		n := 0
		for rs.Next() {
			var body []byte
			var hash storecore.HashScan
			var seq int64
			var typ string
			if err := rs.Scan(&seq, &typ, &body, &hash); err != nil {
				rs.Close()
				return err
			}
			after = seq
			n++
			bodies, hashes = append(bodies, body), append(hashes, hash.Hex)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		evs, err := storecore.DecodeEvents(bodies, hashes)
		if err != nil {
			return err
		}
		for i := range evs {
			// The events whose rows Append wrote at once are skipped; a
			// load of a binary that kept only the records' rows wrote the
			// others' too: EndBulk's inserts skip rows already there.
			if ev := &evs[i]; bulkable(ev) {
				rows.addEvent(ev)
			}
			if rows.full() {
				if err := rows.spill(); err != nil {
					return err
				}
			}
		}
	}
}

// moveStaged moves the staged rows of a bulk load of a binary before
// migration 0097 (tables bulk_subject_events and bulk_facts, 0094) into
// their tables; a bulk load now stages nothing there.
func moveStaged(ctx context.Context, conn *sql.Conn) (err error) {
	var staged int64
	if err := conn.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM (SELECT 1 FROM bulk_subject_events LIMIT 1)) + (SELECT count(*) FROM (SELECT 1 FROM bulk_facts LIMIT 1))").Scan(&staged); err != nil {
		return err
	}
	if staged == 0 {
		return nil
	}
	// The sort of the staged rows spills to temporary files, not memory:
	// at the size of a city it is gigabytes.
	if _, err := conn.ExecContext(ctx, "PRAGMA temp_store = FILE"); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	for _, q := range []string{
		"INSERT INTO subject_events (subject, seq) SELECT subject, seq FROM bulk_subject_events ORDER BY subject, seq ON CONFLICT DO NOTHING",
		"INSERT INTO facts (subject, seq, body) SELECT subject, seq, body FROM bulk_facts ORDER BY subject, seq",
		"DELETE FROM bulk_subject_events",
		"DELETE FROM bulk_facts",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if _, err = conn.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	// The staging tables' pages go back to the file system (a file made
	// with auto_vacuum = INCREMENTAL: every new one; a no-op otherwise).
	_, err = conn.ExecContext(ctx, "PRAGMA incremental_vacuum")
	return err
}

// lookupBulk is lookupRecords during a bulk load: the keys are looked up
// in memory, and a match read back (a hash can collide; a record of a
// rolled-back transaction is no longer there).
func (w *writer) lookupBulk(b *bulkState, keys []recKey) (map[recKey]*credo.Record, error) {
	found := map[recKey]*credo.Record{}
	for _, k := range keys {
		h := b.key(k)
		id, ok := b.keys[h]
		if !ok {
			continue
		}
		var body []byte
		err := w.queryRow("SELECT e.body FROM records r JOIN events e ON e.seq = r.id WHERE r.id = ?", id).Scan(&body)
		if errors.Is(err, sql.ErrNoRows) {
			delete(b.keys, h)
			continue
		}
		if err != nil {
			return nil, err
		}
		r, err := storecore.DecodeRecord(body)
		if err != nil {
			return nil, err
		}
		if r.Authority == k.authority && r.CaseRef == k.caseRef {
			found[k] = r
		}
	}
	return found, nil
}

// noteBulk remembers the keys of records filed during a bulk load.
func (w *writer) noteBulk(rs []credo.Record) {
	b := w.bulk.Load()
	if b == nil {
		return
	}
	for i := range rs {
		b.keys[b.key(recKey{rs[i].Authority, rs[i].CaseRef})] = rs[i].ID
	}
}
