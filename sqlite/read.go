package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"credo"
	"credo/internal/storecore"
)

// Reads go to the read pool: each query sees the last committed state and
// never waits for the writer.

// Record returns a record by id (ENOTFOUND if absent).
func (db *DB) Record(ctx context.Context, id int64) (*credo.Record, error) {
	r, err := db.queryRecord(ctx, `SELECT e.body, e.hash FROM records r JOIN events e ON e.seq = r.id
		WHERE r.id = ?`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &credo.Error{Code: credo.ENOTFOUND, Op: "sqlite.Record", Message: fmt.Sprintf("record %d not found", id)}
	}
	return r, internal("Record", err)
}

// RecordByCase returns a record by its identity (ENOTFOUND if absent).
func (db *DB) RecordByCase(ctx context.Context, authority, caseRef string) (*credo.Record, error) {
	r, err := db.recordByCase(ctx, authority, caseRef)
	if err == nil && r == nil {
		return nil, &credo.Error{Code: credo.ENOTFOUND, Op: "sqlite.RecordByCase",
			Message: fmt.Sprintf("no record of authority %s with case %s", authority, caseRef)}
	}
	return r, internal("RecordByCase", err)
}

// recordByCase reads the records whose case key is the identity's and
// returns the one with this very identity (nil if none): keys can collide.
func (db *DB) recordByCase(ctx context.Context, authority, caseRef string) (*credo.Record, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT e.body, e.hash FROM records r JOIN events e ON e.seq = r.id
		WHERE r.case_key = ? ORDER BY r.id`, storecore.CaseKey(authority, caseRef))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		if r.Authority == authority && r.CaseRef == caseRef {
			return r, nil
		}
	}
	return nil, rows.Err()
}

func (db *DB) queryRecord(ctx context.Context, query string, args ...any) (*credo.Record, error) {
	return scanRecord(db.rdb.QueryRowContext(ctx, query, args...))
}

// scanRecord reads the record of a row of (body, hash) of its
// record.filed event.
func scanRecord(row interface{ Scan(...any) error }) (*credo.Record, error) {
	var body []byte
	var hash storecore.HashScan
	if err := row.Scan(&body, &hash); err != nil {
		return nil, err
	}
	ev, err := storecore.DecodeEvent(body, hash.Hex)
	if err != nil {
		return nil, err
	}
	if ev.Record == nil {
		return nil, fmt.Errorf("event %d (%s) has no record", ev.Seq, ev.Type)
	}
	return ev.Record, nil
}

// SubjectEvents returns, in log order, every event that concerns the
// subject: its own, and links that name it.
func (db *DB) SubjectEvents(ctx context.Context, subject string) ([]credo.Event, error) {
	evs, err := db.queryEvents(ctx, `SELECT e.body, e.hash FROM subject_events s JOIN events e ON e.seq = s.seq
		WHERE s.subject = ? ORDER BY s.seq`, subject)
	return evs, internal("SubjectEvents", err)
}

// Events returns up to limit events with Seq > after, in order; limit <= 0
// means no limit.
func (db *DB) Events(ctx context.Context, after int64, limit int) ([]credo.Event, error) {
	if limit <= 0 {
		limit = -1
	}
	evs, err := db.queryEvents(ctx, "SELECT body, hash FROM events WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
	return evs, internal("Events", err)
}

// EventsOfType returns up to limit events with Seq > after whose type is
// one of types, in order: a decision-table rebuild reads only the events
// the engine needs, and never decodes the rest.
func (db *DB) EventsOfType(ctx context.Context, after int64, limit int, types []credo.EventType) ([]credo.Event, error) {
	if limit <= 0 {
		limit = -1
	}
	// A type column holds the type's code (a new row) or its name (a row
	// written before): both are asked for.
	vals := storecore.TypeColumnValues(types)
	args := append([]any{after}, vals...)
	args = append(args, limit)
	q := "SELECT body, hash FROM events WHERE seq > ? AND type IN (?" + strings.Repeat(",?", max(len(vals)-1, 0)) + ") ORDER BY seq LIMIT ?"
	evs, err := db.queryEvents(ctx, q, args...)
	return evs, internal("EventsOfType", err)
}

// query runs one of the store's fixed reads on the read pool, its
// statement prepared once a connection (readStmts) instead of at every
// call: re-evaluating a subject reads its events and its links, and
// preparing those statements took a quarter of the time.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := db.readStmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (db *DB) queryEvents(ctx context.Context, query string, args ...any) ([]credo.Event, error) {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var bodies [][]byte
	var hashes []string
	for rows.Next() {
		var body []byte
		var hash storecore.HashScan
		if err := rows.Scan(&body, &hash); err != nil {
			return nil, err
		}
		bodies = append(bodies, body)
		hashes = append(hashes, hash.Hex)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return storecore.DecodeEvents(bodies, hashes)
}

// LinkedOrgs returns the organisations a person has ever been linked to,
// in lexical order.
func (db *DB) LinkedOrgs(ctx context.Context, person string) ([]string, error) {
	s, err := db.queryStrings(ctx, "SELECT DISTINCT org FROM links WHERE person = ? ORDER BY org", person)
	return s, internal("LinkedOrgs", err)
}

// LinkedPersons returns the persons ever linked to an organisation, in
// lexical order.
func (db *DB) LinkedPersons(ctx context.Context, org string) ([]string, error) {
	s, err := db.queryStrings(ctx, "SELECT DISTINCT person FROM links WHERE org = ? ORDER BY person", org)
	return s, internal("LinkedPersons", err)
}

func (db *DB) queryStrings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Subjects calls fn for every subject that has events, in no set order
// (today: by identifier). It stops at, and returns, the first error fn
// returns. fn runs while a read snapshot is open; it may call the store.
func (db *DB) Subjects(ctx context.Context, fn func(subject string) error) error {
	rows, err := db.rdb.QueryContext(ctx, "SELECT id FROM subjects")
	if err != nil {
		return internal("Subjects", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return internal("Subjects", err)
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	return internal("Subjects", rows.Err())
}

// Policies returns every published policy version, in order of
// publication.
func (db *DB) Policies(ctx context.Context) ([]credo.PolicyVersion, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT e.body, e.hash FROM policies p JOIN events e ON e.seq = p.seq
		ORDER BY p.seq`)
	if err != nil {
		return nil, internal("Policies", err)
	}
	defer rows.Close()
	out := []credo.PolicyVersion{}
	for rows.Next() {
		var body []byte
		var hash storecore.HashScan
		if err := rows.Scan(&body, &hash); err != nil {
			return nil, internal("Policies", err)
		}
		ev, err := storecore.DecodeEvent(body, hash.Hex)
		if err != nil {
			return nil, internal("Policies", err)
		}
		if ev.Policy == nil {
			return nil, internal("Policies", fmt.Errorf("event %d (%s) has no policy", ev.Seq, ev.Type))
		}
		out = append(out, *ev.Policy)
	}
	return out, internal("Policies", rows.Err())
}
