package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"credo"
	"credo/internal/storecore"
)

var _ credo.ProjectionVerifier = (*DB)(nil)

// readTx opens a read transaction on a connection of the read pool: one
// snapshot of the whole file until done is called.
func (db *DB) readTx(ctx context.Context, op string) (*sql.Conn, func(), error) {
	conn, err := db.rdb.Conn(ctx)
	if err != nil {
		return nil, nil, internal(op, err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		conn.Close()
		return nil, nil, internal(op, err)
	}
	return conn, func() {
		conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
	}, nil
}

// VerifyProjections replays the whole log and compares every projection
// table answers are made from with the replay, row for row (by digest;
// see storecore.Projections), in one read snapshot.
func (db *DB) VerifyProjections(ctx context.Context) (credo.ProjectionResult, error) {
	var res credo.ProjectionResult
	conn, done, err := db.readTx(ctx, "VerifyProjections")
	if err != nil {
		return res, err
	}
	defer done()
	replay := &storecore.ProjectionReplay{Time: utcText}
	n, err := storecore.ReplayLog(ctx, connQuerier{conn}, replay)
	if err != nil {
		return res, internal("VerifyProjections", err)
	}
	stored, err := db.storedProjections(ctx, conn)
	if err != nil {
		return res, internal("VerifyProjections", err)
	}
	return replay.Result(n, stored), nil
}

// storedProjections digests the projection tables as stored.
func (db *DB) storedProjections(ctx context.Context, conn *sql.Conn) (*storecore.Projections, error) {
	p := &storecore.Projections{}
	scan := func(query string, row func(rows *sql.Rows) error) error {
		rows, err := conn.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := row(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	var (
		s1, s2, s3, s4, s7 string
		n1, n2, n3         int64
		ns1, ns2, ns3      sql.NullString
		ni1                sql.NullInt64
		b                  bool
		src                []byte
	)
	str := func(s sql.NullString) string { return s.String }
	steps := []struct {
		q   string
		row func(*sql.Rows) error
	}{
		{"SELECT subject, seq FROM subject_events", func(r *sql.Rows) error {
			err := r.Scan(&s1, &n1)
			p.SubjectEvent(s1, n1)
			return err
		}},
		{"SELECT id, kind, first_seq, last_seq FROM subjects", func(r *sql.Rows) error {
			err := r.Scan(&s1, &s2, &n1, &n2)
			p.Subject(s1, s2, n1, n2)
			return err
		}},
		{`SELECT id, authority, subject, case_key, status,
			revoked_at, fulfilled_at, repaired_at, changed_seq FROM records`, func(r *sql.Rows) error {
			err := r.Scan(&n1, &s1, &s2, &n2, &s7, &ns1, &ns2, &ns3, &ni1)
			p.Record(n1, s1, s2, n2, s7, str(ns1), str(ns2), str(ns3), ni1.Int64)
			return err
		}},
		{"SELECT id, record_id, subject, opened_at, appeal, decided_at, outcome, decided_seq FROM disputes", func(r *sql.Rows) error {
			err := r.Scan(&n1, &n2, &s1, &s2, &b, &ns1, &ns2, &ni1)
			p.Dispute(n1, n2, s1, s2, b, str(ns1), str(ns2), ni1.Int64)
			return err
		}},
		{"SELECT id, record_id, subject, applied_at, decided_at, outcome, decided_seq FROM repair_applications", func(r *sql.Rows) error {
			err := r.Scan(&n1, &n2, &s1, &s2, &ns1, &ns2, &ni1)
			p.Repair(n1, n2, s1, s2, str(ns1), str(ns2), ni1.Int64)
			return err
		}},
		{`SELECT seq, org, person, role, "from", until, until_seq FROM links`, func(r *sql.Rows) error {
			err := r.Scan(&n1, &s1, &s2, &s3, &s4, &ns1, &ni1)
			p.Link(n1, s1, s2, s3, s4, str(ns1), ni1.Int64)
			return err
		}},
		{"SELECT hash, name, effective, published, source, seq FROM policies", func(r *sql.Rows) error {
			err := r.Scan(&s1, &s2, &s3, &s4, &src, &n1)
			p.Policy(s1, s2, s3, s4, src, n1)
			return err
		}},
		{"SELECT record_id, seq, subject FROM notices", func(r *sql.Rows) error {
			err := r.Scan(&n1, &n3, &s1)
			p.Notice(n1, n3, s1)
			return err
		}},
		{"SELECT subject, seq, body FROM facts", func(r *sql.Rows) error {
			err := r.Scan(&s1, &n1, &src)
			p.Fact(s1, n1, src)
			return err
		}},
	}
	for _, s := range steps {
		if err := scan(s.q, s.row); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// CheckProjections is the cheap check a registry runs before answering
// (see credo.ProjectionVerifier): the recorded head is the end of the log,
// and every projection table has the number of rows the log gives. The
// counts of the last passing check are kept in projection_audit, so the
// log is read only from there on (the first check reads all of it). It
// reads no more than the events since the last check, and counts rows;
// VerifyProjections compares the rows themselves.
func (db *DB) CheckProjections(ctx context.Context) (credo.ProjectionResult, error) {
	res := credo.ProjectionResult{Tables: map[string]int64{}}
	conn, done, err := db.readTx(ctx, "CheckProjections")
	if err != nil {
		return res, err
	}
	defer done()
	res, base, err := storecore.CheckProjections(ctx, connQuerier{conn}, "sqlite.CheckProjections", "head")
	if err != nil {
		return res, internal("CheckProjections", err)
	}
	if base != nil {
		// A new baseline; failing to write it (a read-only copy) only
		// means the next check reads further back.
		if odb, err := db.ops(); err == nil {
			odb.ExecContext(ctx, `INSERT INTO projection_audit (id, seq, hash, counts) VALUES (1, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, counts = excluded.counts`,
				base.Seq, storecore.RawHash(base.Hash), base.Counts)
		}
	}
	return res, nil
}

// connQuerier is a read connection or pool as storecore's shared store
// logic queries it. Its rows scan into sql.RawBytes (storecore.ScanFacts
// asks, through RawBytes).
type connQuerier struct {
	conn interface {
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
}

func (q connQuerier) QueryRow(ctx context.Context, query string, args ...any) storecore.Row {
	return q.conn.QueryRowContext(ctx, query, args...)
}

func (q connQuerier) Query(ctx context.Context, query string, args ...any) (storecore.Rows, error) {
	rows, err := q.conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (connQuerier) NoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
func (connQuerier) Numbered() bool        { return false }
func (connQuerier) RawBytes() bool        { return true }

// sqlRows is *sql.Rows with storecore.Rows's Close.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }
