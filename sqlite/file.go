package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"credo"
	"credo/internal/canon"
	"credo/internal/storecore"
)

// FileRecords files records in one atomic transaction, in order (see
// credo.Store). Calls from concurrent goroutines are committed together,
// one fsync for many calls, each keeping its own atomicity and outcome: see
// commitLoop. The records passed in are not modified; the results are
// copies with ID and FiledAt set.
func (db *DB) FileRecords(ctx context.Context, rs []*credo.Record) ([]credo.FileResult, error) {
	if err := storecore.ValidateRecords(rs); err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return []credo.FileResult{}, nil
	}
	req := &request{ctx: ctx, op: "FileRecords", recs: storecore.CopyRecords(rs)}
	if err := db.submit(req); err != nil {
		return nil, err
	}
	return req.results, nil
}

// FileRecord files one record; concurrent calls share commits (group
// commit). It is FileRecords with one record.
func (db *DB) FileRecord(ctx context.Context, r *credo.Record) (credo.FileResult, error) {
	res, err := db.FileRecords(ctx, []*credo.Record{r})
	if err != nil {
		return credo.FileResult{}, err
	}
	return res[0], nil
}

// recKey is a record's identity.
type recKey struct{ authority, caseRef string }

// fileRecords files rs inside the open transaction. On error the caller
// rolls the transaction (or savepoint) back and restores w.seq and w.hash.
func (w *writer) fileRecords(rs []*credo.Record) ([]credo.FileResult, error) {
	first := make(map[recKey]int, len(rs)) // key -> index of its first occurrence
	keys := make([]recKey, 0, len(rs))
	for i, r := range rs {
		k := recKey{r.Authority, r.CaseRef}
		if _, ok := first[k]; !ok {
			first[k] = i
			keys = append(keys, k)
		}
	}
	lookup := w.lookupRecords
	if b := w.bulk.Load(); b != nil {
		lookup = func(keys []recKey) (map[recKey]*credo.Record, error) { return w.lookupBulk(b, keys) }
	}
	existing, err := lookup(keys)
	if err != nil {
		return nil, internal("FileRecords", err)
	}

	now := w.stamp()
	res := make([]credo.FileResult, len(rs))
	created := make([]credo.Record, 0, len(rs)) // never reallocated: res points into it
	var dups []int                              // records repeating a new one of this call
	for i, r := range rs {
		k := recKey{r.Authority, r.CaseRef}
		if ex := existing[k]; ex != nil {
			if !r.SameFiling(ex) {
				return nil, storecore.Conflict("sqlite.FileRecords", r, ex, false)
			}
			c := *ex
			res[i] = credo.FileResult{Record: &c}
			continue
		}
		if j := first[k]; j < i {
			prior := res[j].Record
			if !r.SameFiling(prior) {
				return nil, storecore.Conflict("sqlite.FileRecords", r, prior, true)
			}
			res[i] = credo.FileResult{Record: prior} // copied once it has its ID
			dups = append(dups, i)
			continue
		}
		created = append(created, *r)
		c := &created[len(created)-1]
		if c.FiledAt.IsZero() {
			c.FiledAt = now
		}
		res[i] = credo.FileResult{Record: c, Created: true}
	}
	if len(created) == 0 {
		return res, nil
	}
	if err := w.insertRecords(created); err != nil {
		return nil, err
	}
	w.noteBulk(created)
	for _, i := range dups {
		c := *res[i].Record
		res[i].Record = &c
	}
	return res, nil
}

// insertRecords appends a record.filed event for each record, assigning
// IDs, and writes the projections.
func (w *writer) insertRecords(rs []credo.Record) (err error) {
	defer func() {
		if err != nil {
			w.dropTree() // the failed call's stored hashes
		}
	}()
	n := len(rs)
	evArgs := make([]any, 0, eventCols*min(n, maxRowsPerInsert*16))
	recArgs := make([]any, 0, recordCols*min(n, maxRowsPerInsert*16))
	seArgs := make([]any, 0, 2*min(n, maxRowsPerInsert*16))
	factArgs := make([]any, 0, 3*min(n, maxRowsPerInsert*16))
	subjects := storecore.NewSubjectSet()
	arena := make([]byte, 0, 640*min(n, 256))
	filedType := storecore.TypeColumn(credo.EventRecordFiled)
	bulk := w.bulk.Load()
	flush := func() error {
		if err := w.events.exec(evArgs); err != nil {
			return err
		}
		if err := w.records.exec(recArgs); err != nil {
			return err
		}
		if err := w.subjEvs.exec(seArgs); err != nil {
			return err
		}
		if err := w.factRows().exec(factArgs); err != nil {
			return err
		}
		if err := w.flushTree(); err != nil {
			return err
		}
		evArgs, recArgs, seArgs, factArgs = evArgs[:0], recArgs[:0], seArgs[:0], factArgs[:0]
		return nil
	}
	for i := range rs {
		r := &rs[i]
		w.seq++
		r.ID = w.seq
		start := len(arena)
		var err error
		if arena, err = canon.AppendRecordFiled(arena, r, r.FiledAt, w.hash); err != nil {
			return err
		}
		body := arena[start:len(arena):len(arena)]
		if left := n - i - 1; left > 0 && cap(arena)-len(arena) < 1024 {
			arena = make([]byte, 0, 640*min(left, 256))
		}
		sum := sha256.Sum256(body)
		w.hash = hex.EncodeToString(sum[:])
		if err := w.addLeaf(r.ID, body); err != nil {
			return internal("FileRecords", err)
		}
		evArgs = append(evArgs, r.ID, filedType, body, sum[:])                                             // as eventRow
		recArgs = append(recArgs, r.ID, r.Authority, r.Subject, storecore.CaseKey(r.Authority, r.CaseRef)) // recordValues
		if bulk != nil {
			bulk.rows.addRecord(r) // written at EndBulk (bulk.go)
		} else {
			seArgs = append(seArgs, r.Subject, r.ID)
			factArgs = append(factArgs, r.Subject, r.ID, storecore.RecordFact(nil, r))
			subjects.Add(r.Subject, r.ID, "")
		}
		if len(evArgs) == cap(evArgs) {
			if err := flush(); err != nil {
				return internal("FileRecords", err)
			}
		}
	}
	if err := flush(); err != nil {
		return internal("FileRecords", err)
	}
	if err := w.upsertSubjects(subjects); err != nil {
		return internal("FileRecords", err)
	}
	return nil
}

// lookupBatch is the number of keys looked up per statement.
const lookupBatch = 128

// lookupRecords returns the stored records among keys.
func (w *writer) lookupRecords(keys []recKey) (map[recKey]*credo.Record, error) {
	found := map[recKey]*credo.Record{}
	args := make([]any, 0, 2*lookupBatch)
	for len(keys) > 0 {
		n := min(len(keys), lookupBatch)
		rows := lookupBatch
		for rows/2 >= n {
			rows /= 2
		}
		args = args[:0]
		for i := range rows {
			k := keys[min(i, n-1)] // pad with the last key
			args = append(args, storecore.CaseKey(k.authority, k.caseRef))
		}
		keys = keys[n:]
		s, err := w.stmt(w.lookupQuery(rows))
		if err != nil {
			return nil, err
		}
		rs, err := s.QueryContext(bg, args...)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			var body []byte
			if err := rs.Scan(&body); err != nil {
				rs.Close()
				return nil, err
			}
			r, err := storecore.DecodeRecord(body)
			if err != nil {
				rs.Close()
				return nil, err
			}
			found[recKey{r.Authority, r.CaseRef}] = r
		}
		if err := rs.Close(); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// lookupQuery returns the query that finds the stored records among n keys.
func (w *writer) lookupQuery(n int) string {
	if q, ok := w.lookupSQL[n]; ok {
		return q
	}
	var b strings.Builder
	b.WriteString("WITH k (case_key) AS (VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?)")
	}
	// DISTINCT: a key given twice (padding) reads its records once. A key
	// may also find another identity's record (CaseKey can collide): the
	// caller keeps the bodies by their own authority and case reference.
	b.WriteString(`) SELECT e.body FROM (SELECT DISTINCT case_key FROM k) k
		JOIN records r ON r.case_key = k.case_key
		JOIN events e ON e.seq = r.ID`)
	q := b.String()
	w.lookupSQL[n] = q
	return q
}

// upsertSubjects writes the subjects table rows for s.
func (w *writer) upsertSubjects(s *storecore.SubjectSet) error {
	args := make([]any, 0, 4*min(len(s.List), maxRowsPerInsert*16))
	for _, r := range s.List {
		args = append(args, r.ID, r.Kind, r.First, r.Last)
		if len(args) == cap(args) {
			if err := w.subjects.exec(args); err != nil {
				return err
			}
			args = args[:0]
		}
	}
	return w.subjects.exec(args)
}
