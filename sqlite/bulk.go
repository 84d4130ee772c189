package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"hash/maphash"

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
//     back and compared), instead of a query per batch;
//   - the rows of the projections keyed by subject (subject_events,
//     facts), whose inserts land at random places in their indexes, are
//     appended to staging tables in log order, and moved into their
//     tables in key order once, by EndBulk.
//
// Until EndBulk, reads of a subject's events and facts miss the records
// filed in bulk. A store closed or killed during a bulk load finishes the
// move when it is next opened.

type bulkState struct {
	seed maphash.Seed
	keys map[uint64]int64 // hash of (authority, case reference) -> record id
}

func (b *bulkState) key(k recKey) uint64 {
	var h maphash.Hash
	h.SetSeed(b.seed)
	h.WriteString(k.authority)
	h.WriteByte(0)
	h.WriteString(k.caseRef)
	return h.Sum64()
}

// StartBulk starts a bulk load into a registry that has no records yet
// (EINVALID otherwise). Call it before filing, and EndBulk after the last
// filing has returned.
func (db *DB) StartBulk(ctx context.Context) error {
	var n int64
	if err := db.rdb.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM records LIMIT 1)").Scan(&n); err != nil {
		return internal("StartBulk", err)
	}
	if n > 0 {
		return credo.Errorf(credo.EINVALID, "a bulk load is for a registry without records: this one has records (file them in batches instead)")
	}
	db.w.bulk.Store(&bulkState{seed: maphash.MakeSeed(), keys: map[uint64]int64{}})
	return nil
}

// EndBulk ends a bulk load: the staged rows are moved into their tables,
// in key order, in one transaction.
func (db *DB) EndBulk(ctx context.Context) error {
	db.w.bulk.Store(nil)
	odb, err := db.ops()
	if err != nil {
		return internal("EndBulk", err)
	}
	conn, err := odb.Conn(ctx)
	if err != nil {
		return internal("EndBulk", err)
	}
	defer conn.Close()
	return internal("EndBulk", moveStaged(ctx, conn))
}

// moveStaged moves the staged rows of a bulk load into their tables.
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

// stagedSubjectEvents and stagedFacts are the multi-row inserts of the
// staging tables.
func (w *writer) stagedInserts() (se, facts *multiInsert) {
	if w.bulkSE == nil {
		w.bulkSE = &multiInsert{w: w, cols: 2, head: "INSERT INTO bulk_subject_events (subject, seq) VALUES "}
		w.bulkFacts = &multiInsert{w: w, cols: 3, head: "INSERT INTO bulk_facts (subject, seq, body) VALUES "}
	}
	return w.bulkSE, w.bulkFacts
}

// recordInserts returns the inserts of a record's rows of subject_events
// and facts: the staging tables during a bulk load.
func (w *writer) recordInserts() (se, facts *multiInsert) {
	if w.bulk.Load() != nil {
		return w.stagedInserts()
	}
	return w.subjEvs, w.factRows()
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
