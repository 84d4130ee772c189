package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"credo"
	"credo/internal/canon"
	"credo/internal/storecore"
)

// FileRecords files records in one atomic transaction, in order (see
// credo.Store). Calls from concurrent goroutines are committed together
// (see runGroup), each keeping its own atomicity and outcome; a call of
// CopyThreshold new records or more is written with COPY. The records
// passed in are not modified; the results are copies with ID and FiledAt
// set.
func (db *DB) FileRecords(ctx context.Context, rs []*credo.Record) ([]credo.FileResult, error) {
	if err := validateRecords(rs); err != nil {
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

// validateRecords checks what the store needs of records to file: what
// every store needs (storecore.ValidateRecords), text PostgreSQL can store,
// and values its binary COPY encodes.
func validateRecords(rs []*credo.Record) error {
	if err := storecore.ValidateRecords(rs); err != nil {
		return err
	}
	for i, r := range rs {
		for _, f := range []struct{ name, v string }{{"subject", r.Subject}, {"rule", r.Rule},
			{"authority", r.Authority}, {"case_ref", r.CaseRef}} {
			if !pgText(f.v) {
				return credo.FieldErrorf(storecore.RecordField(len(rs), i, f.name), "must be valid UTF-8 without NUL characters")
			}
		}
		if err := encodable(r, len(rs), i); err != nil {
			return err
		}
	}
	return nil
}

// pgText reports whether s can be stored in a PostgreSQL text column:
// valid UTF-8 without NUL.
func pgText(s string) bool {
	return utf8.ValidString(s) && !strings.Contains(s, "\x00")
}

// recKey is a record's identity.
type recKey struct{ authority, caseRef string }

// fileGroup files consecutive FileRecords calls inside the open
// transaction. A call that conflicts gets its error and writes nothing;
// the returned error (a failed statement) fails the whole group.
// stored, if not nil, holds the calls' records already looked up.
func (w *writer) fileGroup(reqs []*request, stored map[recKey]*credo.Record) error {
	if stored == nil {
		stored = w.queueLookup(groupKeys(reqs))
		if err := w.flush(); err != nil {
			return err
		}
	}
	now := w.stamp()
	var created []*credo.Record
	for _, r := range reqs {
		res, fresh, err := resolve(r.recs, stored, now)
		if err != nil {
			r.err = err
			continue
		}
		for _, c := range fresh {
			w.seq++
			c.ID = w.seq
			stored[recKey{c.Authority, c.CaseRef}] = c
		}
		for i := range res {
			if !res[i].Created {
				c := *res[i].Record // copied once it has its ID
				res[i].Record = &c
			}
		}
		created = append(created, fresh...)
		r.results = res
	}
	if len(created) == 0 {
		return nil
	}
	return w.insertRecords(created)
}

// resolve decides, for one call, which records are new and which repeat a
// stored record (or an earlier one of the call), and fails with ECONFLICT
// if any contradicts one. The new records are returned in order, without
// IDs; the results point to them (or to the stored records, to be copied).
func resolve(rs []*credo.Record, stored map[recKey]*credo.Record, now time.Time) ([]credo.FileResult, []*credo.Record, error) {
	res := make([]credo.FileResult, len(rs))
	first := make(map[recKey]int, len(rs))
	fresh := make([]credo.Record, 0, len(rs))
	var freshPtrs []*credo.Record
	for i, r := range rs {
		k := recKey{r.Authority, r.CaseRef}
		if ex := stored[k]; ex != nil {
			if !r.SameFiling(ex) {
				return nil, nil, storecore.Conflict("postgres.FileRecords", r, ex, false)
			}
			res[i] = credo.FileResult{Record: ex}
			continue
		}
		if j, ok := first[k]; ok {
			prior := res[j].Record
			if !r.SameFiling(prior) {
				return nil, nil, storecore.Conflict("postgres.FileRecords", r, prior, true)
			}
			res[i] = credo.FileResult{Record: prior}
			continue
		}
		first[k] = i
		fresh = append(fresh, *r)
		c := &fresh[len(fresh)-1]
		if c.FiledAt.IsZero() {
			c.FiledAt = now
		}
		res[i] = credo.FileResult{Record: c, Created: true}
		freshPtrs = append(freshPtrs, c)
	}
	return res, freshPtrs, nil
}

// encodable checks that the event filing r can be encoded (its times have
// years 0-9999 and offsets under a day, its quantity is finite), so that a
// call that cannot be written fails before it joins a group.
func encodable(r *credo.Record, n, i int) error {
	field := func(f string) string { return storecore.RecordField(n, i, f) }
	var buf [64]byte
	for _, t := range []struct {
		name string
		t    time.Time
	}{{"decided_at", r.DecidedAt}, {"notified_at", r.NotifiedAt}, {"filed_at", r.FiledAt}} {
		if _, err := t.t.AppendText(buf[:0]); err != nil {
			return credo.FieldErrorf(field(t.name), "cannot be encoded: %v", err)
		}
	}
	if math.IsInf(r.Quantity, 0) || math.IsNaN(r.Quantity) {
		return credo.FieldErrorf(field("quantity"), "%v cannot be encoded", r.Quantity)
	}
	return nil
}

// insertRecords appends a record.filed event for each record (which has
// its ID), chaining the hashes, and writes the projections: with COPY for
// a large batch, else with array INSERTs sent together.
func (w *writer) insertRecords(rs []*credo.Record) error {
	n := len(rs)
	bodies := make([][]byte, n)
	hashes := make([][]byte, n) // as the hash columns hold them
	prevs := make([][]byte, n)
	prev := storecore.RawHash(w.hash)
	arena := make([]byte, 0, 640*min(n, 256))
	subjects := storecore.NewSubjectSet()
	for i, r := range rs {
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
		prevs[i], hashes[i], prev = prev, sum[:], sum[:]
		w.hash = hex.EncodeToString(hashes[i])
		bodies[i] = body
		subjects.Add(r.Subject, r.ID, "")
		if err := w.addLeaf(r.ID, body); err != nil {
			w.dropTree()
			return err
		}
	}
	defer w.flushTree() // queued after the events, in their transaction
	w.queueFacts(rs)
	if w.opts.CopyThreshold > 0 && n >= w.opts.CopyThreshold {
		return w.copyRecords(rs, bodies, prevs, hashes, subjects)
	}
	ids := make([]int64, n)
	types := make([]string, n)
	subs := make([]string, n)
	filed := make([]time.Time, n)
	auths := make([]string, n)
	cases := make([]string, n)
	rules := make([]string, n)
	decided := make([]time.Time, n)
	for i, r := range rs {
		ids[i], types[i], subs[i], filed[i] = r.ID, string(credo.EventRecordFiled), r.Subject, r.FiledAt
		auths[i], cases[i], rules[i], decided[i] = r.Authority, r.CaseRef, r.Rule, r.DecidedAt
	}
	w.queue(`INSERT INTO events (seq, type, subject, recorded, body, prev_hash, hash)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], $5::bytea[], $6::bytea[], $7::bytea[])`,
		ids, types, subs, filed, bodies, prevs, hashes)
	w.queue(`INSERT INTO records (id, authority, case_ref, subject, rule, decided_at, filed_at)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[])`,
		ids, auths, cases, subs, rules, decided, filed)
	w.queue(`INSERT INTO subject_events (subject, seq) SELECT * FROM unnest($1::text[], $2::bigint[])`, subs, ids)
	w.upsertSubjects(subjects)
	return nil
}

// copyRecords writes a large batch with COPY. The keys are known to be
// new: they were looked up under the log lock, which every filing takes.
func (w *writer) copyRecords(rs []*credo.Record, bodies, prevs, hashes [][]byte, subjects *storecore.SubjectSet) error {
	if err := w.flush(); err != nil {
		return err
	}
	typ := string(credo.EventRecordFiled)
	size := 0
	for _, b := range bodies {
		size += len(b) + 256
	}
	bufs := &w.copyBufs
	bufs[0], bufs[1], bufs[2] = bufs[0].reset(size), bufs[1].reset(len(rs)*200), bufs[2].reset(len(rs)*48)
	ev, rec, se := bufs[0], bufs[1], bufs[2]
	for i, r := range rs {
		ev.row(7)
		ev.int64(r.ID)
		ev.text(typ)
		ev.text(r.Subject)
		ev.timestamptz(r.FiledAt)
		ev.bytes(bodies[i])
		ev.bytes(prevs[i])
		ev.bytes(hashes[i])

		rec.row(7)
		rec.int64(r.ID)
		rec.text(r.Authority)
		rec.text(r.CaseRef)
		rec.text(r.Subject)
		rec.text(r.Rule)
		rec.timestamptz(r.DecidedAt)
		rec.timestamptz(r.FiledAt)

		se.row(2)
		se.text(r.Subject)
		se.int64(r.ID)
	}
	pc := w.conn.PgConn()
	if _, err := pc.CopyFrom(bg, ev.done(), "COPY events (seq, type, subject, recorded, body, prev_hash, hash) FROM STDIN WITH (FORMAT binary)"); err != nil {
		return err
	}
	if _, err := pc.CopyFrom(bg, rec.done(), "COPY records (id, authority, case_ref, subject, rule, decided_at, filed_at) FROM STDIN WITH (FORMAT binary)"); err != nil {
		return err
	}
	if _, err := pc.CopyFrom(bg, se.done(), "COPY subject_events (subject, seq) FROM STDIN WITH (FORMAT binary)"); err != nil {
		return err
	}
	return w.copySubjects(subjects)
}

// copySubjects upserts the subjects of a large batch: COPY into a
// temporary table of the session, then one INSERT ... ON CONFLICT.
func (w *writer) copySubjects(s *storecore.SubjectSet) error {
	if _, err := w.exec(`CREATE TEMP TABLE IF NOT EXISTS subjects_stage
		(id text, kind text, first_seq bigint, last_seq bigint) ON COMMIT DELETE ROWS`); err != nil {
		return err
	}
	// Group commit can put two large batches in one transaction: the stage
	// must hold only this batch's subjects, or the upsert would meet one
	// subject twice.
	if _, err := w.exec(`TRUNCATE subjects_stage`); err != nil {
		return err
	}
	w.copyBufs[3] = w.copyBufs[3].reset(len(s.List) * 64)
	sb := w.copyBufs[3]
	for i := range s.List {
		r := &s.List[i]
		sb.row(4)
		sb.text(r.ID)
		sb.text(r.Kind)
		sb.int64(r.First)
		sb.int64(r.Last)
	}
	if _, err := w.conn.PgConn().CopyFrom(bg, sb.done(), "COPY subjects_stage (id, kind, first_seq, last_seq) FROM STDIN WITH (FORMAT binary)"); err != nil {
		return err
	}
	_, err := w.exec(`INSERT INTO subjects (id, kind, first_seq, last_seq) SELECT * FROM subjects_stage
		ON CONFLICT (id) DO UPDATE SET
			last_seq = greatest(subjects.last_seq, excluded.last_seq),
			first_seq = least(subjects.first_seq, excluded.first_seq),
			kind = CASE WHEN subjects.kind = 'unknown' THEN excluded.kind ELSE subjects.kind END`)
	return err
}

// groupKeys returns the distinct identities of the calls' records.
func groupKeys(reqs []*request) []recKey {
	seen := map[recKey]bool{}
	var keys []recKey
	for _, r := range reqs {
		for _, rec := range r.recs {
			k := recKey{rec.Authority, rec.CaseRef}
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// queueLookup queues the lookup of the stored records among keys; the
// returned map holds them, keyed by identity, once the batch is sent.
func (w *writer) queueLookup(keys []recKey) map[recKey]*credo.Record {
	found := make(map[recKey]*credo.Record, len(keys))
	if len(keys) == 0 {
		return found
	}
	auths := make([]string, len(keys))
	cases := make([]string, len(keys))
	for i, k := range keys {
		auths[i], cases[i] = k.authority, k.caseRef
	}
	w.queue(`SELECT e.body FROM unnest($1::text[], $2::text[]) AS k (authority, case_ref)
		JOIN records r ON r.authority = k.authority AND r.case_ref = k.case_ref
		JOIN events e ON e.seq = r.ID`, auths, cases).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var body []byte
			if err := rows.Scan(&body); err != nil {
				return err
			}
			r, err := storecore.DecodeRecord(body)
			if err != nil {
				return err
			}
			found[recKey{r.Authority, r.CaseRef}] = r
		}
		return rows.Err()
	})
	return found
}

// upsertSubjects queues the subjects rows for s.
func (w *writer) upsertSubjects(s *storecore.SubjectSet) {
	if len(s.List) == 0 {
		return
	}
	ids := make([]string, len(s.List))
	kinds := make([]string, len(s.List))
	firsts := make([]int64, len(s.List))
	lasts := make([]int64, len(s.List))
	for i, r := range s.List {
		ids[i], kinds[i], firsts[i], lasts[i] = r.ID, r.Kind, r.First, r.Last
	}
	w.queue(`INSERT INTO subjects (id, kind, first_seq, last_seq)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])
		ON CONFLICT (id) DO UPDATE SET
			last_seq = greatest(subjects.last_seq, excluded.last_seq),
			first_seq = least(subjects.first_seq, excluded.first_seq),
			kind = CASE WHEN subjects.kind = 'unknown' THEN excluded.kind ELSE subjects.kind END`,
		ids, kinds, firsts, lasts)
}
