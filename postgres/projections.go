package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"credo"
	"credo/internal/storecore"
)

var _ credo.ProjectionVerifier = (*DB)(nil)

// pgInstant is the canonical text of an instant as PostgreSQL keeps it
// (timestamptz: microseconds, truncated as pgx sends it).
func pgInstant(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format("2006-01-02T15:04:05.000000000Z")
}

func pgNullInstant(t *time.Time) string {
	if t == nil {
		return ""
	}
	return pgInstant(*t)
}

func (db *DB) readTx(ctx context.Context, op string) (pgx.Tx, error) {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, internal(op, err)
	}
	return tx, nil
}

// VerifyProjections replays the whole log and compares every projection
// table answers are made from with the replay, row for row (by digest;
// see storecore.Projections), in one REPEATABLE READ snapshot.
func (db *DB) VerifyProjections(ctx context.Context) (credo.ProjectionResult, error) {
	var res credo.ProjectionResult
	tx, err := db.readTx(ctx, "VerifyProjections")
	if err != nil {
		return res, err
	}
	defer tx.Rollback(context.Background())
	replay := &storecore.ProjectionReplay{Time: pgInstant}
	n, err := storecore.ReplayLog(ctx, pgQuerier{tx}, replay)
	if err != nil {
		return res, internal("VerifyProjections", err)
	}
	stored, err := storedProjections(ctx, tx)
	if err != nil {
		return res, internal("VerifyProjections", err)
	}
	return replay.Result(n, stored), nil
}

// storedProjections digests the projection tables as stored.
func storedProjections(ctx context.Context, tx pgx.Tx) (*storecore.Projections, error) {
	p := &storecore.Projections{}
	var (
		s1, s2, s3, s5 string
		n1, n2         int64
		t1, t2         time.Time
		nt1, nt2, nt3  *time.Time
		ns1            *string
		ni1            *int64
		b              bool
		src            []byte
	)
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	i64 := func(n *int64) int64 {
		if n == nil {
			return 0
		}
		return *n
	}
	steps := []struct {
		q    string
		dest []any
		row  func()
	}{
		{"SELECT subject, seq FROM subject_events", []any{&s1, &n1}, func() { p.SubjectEvent(s1, n1) }},
		{"SELECT id, kind, first_seq, last_seq FROM subjects", []any{&s1, &s2, &n1, &n2}, func() { p.Subject(s1, s2, n1, n2) }},
		{`SELECT id, authority, case_ref, subject, status,
			revoked_at, fulfilled_at, repaired_at, changed_seq FROM records`,
			[]any{&n1, &s1, &s2, &s3, &s5, &nt1, &nt2, &nt3, &ni1}, func() {
				p.Record(n1, s1, s3, storecore.CaseKey(s1, s2), s5, pgNullInstant(nt1), pgNullInstant(nt2), pgNullInstant(nt3), i64(ni1))
			}},
		{"SELECT id, record_id, subject, opened_at, appeal, decided_at, outcome, decided_seq FROM disputes",
			[]any{&n1, &n2, &s1, &t1, &b, &nt1, &ns1, &ni1}, func() {
				p.Dispute(n1, n2, s1, pgInstant(t1), b, pgNullInstant(nt1), str(ns1), i64(ni1))
			}},
		{"SELECT id, record_id, subject, applied_at, decided_at, outcome, decided_seq FROM repair_applications",
			[]any{&n1, &n2, &s1, &t1, &nt1, &ns1, &ni1}, func() {
				p.Repair(n1, n2, s1, pgInstant(t1), pgNullInstant(nt1), str(ns1), i64(ni1))
			}},
		{`SELECT seq, org, person, role, "from", until, until_seq FROM links`,
			[]any{&n1, &s1, &s2, &s3, &t1, &nt1, &ni1}, func() {
				p.Link(n1, s1, s2, s3, pgInstant(t1), pgNullInstant(nt1), i64(ni1))
			}},
		{"SELECT hash, name, effective, published, source, seq FROM policies",
			[]any{&s1, &s2, &t1, &t2, &src, &n1}, func() {
				p.Policy(s1, s2, pgInstant(t1), pgInstant(t2), src, n1)
			}},
		{"SELECT record_id, seq, subject FROM notices", []any{&n1, &n2, &s1}, func() { p.Notice(n1, n2, s1) }},
		{"SELECT subject, seq, body FROM facts", []any{&s1, &n1, &src}, func() { p.Fact(s1, n1, src) }},
	}
	for _, s := range steps {
		rows, err := tx.Query(ctx, s.q)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			if err := rows.Scan(s.dest...); err != nil {
				rows.Close()
				return nil, err
			}
			s.row()
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// CheckProjections is the cheap check a registry runs before answering
// (see credo.ProjectionVerifier and the sqlite store's): the recorded head
// is the end of the log, and every projection table has the number of
// rows the log gives, counted from the baseline in projection_audit.
func (db *DB) CheckProjections(ctx context.Context) (credo.ProjectionResult, error) {
	res := credo.ProjectionResult{Tables: map[string]int64{}}
	tx, err := db.readTx(ctx, "CheckProjections")
	if err != nil {
		return res, err
	}
	defer tx.Rollback(context.Background())
	res, base, err := storecore.CheckProjections(ctx, pgQuerier{tx}, "postgres.CheckProjections", "log_head")
	if err != nil {
		return res, internal("CheckProjections", err)
	}
	if base != nil {
		db.pool.Exec(ctx, `INSERT INTO projection_audit (id, seq, hash, counts) VALUES (1, $1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, counts = excluded.counts`,
			base.Seq, storecore.RawHash(base.Hash), base.Counts)
	}
	return res, nil
}

// pgQuerier is a transaction or the pool as storecore's shared store
// logic queries it.
type pgQuerier struct {
	tx interface {
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

func (q pgQuerier) QueryRow(ctx context.Context, sql string, args ...any) storecore.Row {
	return q.tx.QueryRow(ctx, sql, args...)
}

func (q pgQuerier) Query(ctx context.Context, sql string, args ...any) (storecore.Rows, error) {
	return q.tx.Query(ctx, sql, args...)
}

func (pgQuerier) NoRows(err error) bool { return isNoRows(err) }
func (pgQuerier) Numbered() bool        { return true }
