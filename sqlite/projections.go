package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
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
	var n int64
	var bodies [][]byte
	var hashes []string
	flush := func() error {
		evs, err := storecore.DecodeEvents(bodies, hashes)
		if err != nil {
			return err
		}
		for i := range evs {
			replay.Event(&evs[i])
		}
		n += int64(len(evs))
		bodies, hashes = bodies[:0], hashes[:0]
		return ctx.Err()
	}
	rows, err := conn.QueryContext(ctx, "SELECT body, hash FROM events ORDER BY seq")
	if err != nil {
		return res, internal("VerifyProjections", err)
	}
	for rows.Next() {
		var body []byte
		var hash string
		if err := rows.Scan(&body, &hash); err != nil {
			rows.Close()
			return res, internal("VerifyProjections", err)
		}
		bodies, hashes = append(bodies, body), append(hashes, hash)
		if len(bodies) == 4096 {
			if err := flush(); err != nil {
				rows.Close()
				return res, internal("VerifyProjections", err)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, internal("VerifyProjections", err)
	}
	if err := flush(); err != nil {
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
		s1, s2, s3, s4, s5, s6, s7 string
		n1, n2, n3                 int64
		ns1, ns2, ns3              sql.NullString
		ni1                        sql.NullInt64
		b                          bool
		src                        []byte
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
		{`SELECT id, authority, case_ref, subject, rule, decided_at, filed_at, status,
			revoked_at, fulfilled_at, repaired_at, changed_seq FROM records`, func(r *sql.Rows) error {
			err := r.Scan(&n1, &s1, &s2, &s3, &s4, &s5, &s6, &s7, &ns1, &ns2, &ns3, &ni1)
			p.Record(n1, s1, s2, s3, s4, s5, s6, s7, str(ns1), str(ns2), str(ns3), ni1.Int64)
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
	var headSeq, lastSeq int64
	var headHash, lastHash string
	err = conn.QueryRowContext(ctx, "SELECT seq, hash FROM head WHERE id = 1").Scan(&headSeq, &headHash)
	haveHead := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return res, internal("CheckProjections", err)
	}
	err = conn.QueryRowContext(ctx, "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").Scan(&lastSeq, &lastHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return res, internal("CheckProjections", err)
	}
	if err := storecore.HeadAgreement("sqlite.CheckProjections", haveHead, headSeq, headHash, lastSeq, lastHash); err != nil {
		res.Problems = append(res.Problems, credo.ProjectionProblem{Table: "head", LogRows: lastSeq, Stored: headSeq, Problem: credo.ErrorMessage(err)})
		return res, nil
	}

	// The baseline: the counts at the last passing check, if its event
	// is still the one it saw.
	want := storecore.Tally{}
	var from int64
	var auditHash, counts string
	err = conn.QueryRowContext(ctx, "SELECT seq, hash, counts FROM projection_audit WHERE id = 1").Scan(&from, &auditHash, &counts)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		from = 0
	case err != nil:
		return res, internal("CheckProjections", err)
	default:
		var hash string
		err := conn.QueryRowContext(ctx, "SELECT hash FROM events WHERE seq = ?", from).Scan(&hash)
		if err != nil || hash != auditHash || json.Unmarshal([]byte(counts), &want) != nil {
			res.Problems = append(res.Problems, credo.ProjectionProblem{Table: "events", LogRows: from,
				Problem: "the event the last projection check stood at is no longer in the log as it was: run `credo verify`"})
			return res, nil
		}
	}
	rows, err := conn.QueryContext(ctx, "SELECT type, subject, CASE WHEN type IN ('link.added', 'link.removed') THEN body END FROM events WHERE seq > ? ORDER BY seq", from)
	if err != nil {
		return res, internal("CheckProjections", err)
	}
	for rows.Next() {
		var typ, subject string
		var body []byte
		if err := rows.Scan(&typ, &subject, &body); err != nil {
			rows.Close()
			return res, internal("CheckProjections", err)
		}
		var link *credo.Link
		if storecore.LinkEvent(typ) {
			var ev credo.Event
			if err := json.Unmarshal(body, &ev); err == nil {
				link = ev.Link
			}
		}
		want.Event(credo.EventType(typ), subject, link)
		res.Events++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, internal("CheckProjections", err)
	}

	stored := storecore.Tally{}
	for _, t := range storecore.CountedTables {
		var n int64
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return res, internal("CheckProjections", err)
		}
		stored[t] = n
		res.Tables[t] = n
	}
	var subjects, distinct int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM subjects").Scan(&subjects); err != nil {
		return res, internal("CheckProjections", err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT count(DISTINCT subject) FROM subject_events").Scan(&distinct); err != nil {
		return res, internal("CheckProjections", err)
	}
	res.Tables["subjects"] = subjects
	res.Problems = storecore.CheckCounts(want, stored, subjects, distinct)
	res.OK = len(res.Problems) == 0
	if res.OK && lastSeq > from {
		// A new baseline; failing to write it (a read-only copy) only
		// means the next check reads further back.
		if odb, err := db.ops(); err == nil {
			b, _ := json.Marshal(want)
			odb.ExecContext(ctx, `INSERT INTO projection_audit (id, seq, hash, counts) VALUES (1, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, counts = excluded.counts`,
				lastSeq, lastHash, string(b))
		}
	}
	return res, nil
}
