package postgres

import (
	"context"
	"sort"
	"time"

	"credo"
)

// Tokens and the check log are operational data, outside the hash-chained
// event log: they are written straight through the pool and never take
// the log lock.

var (
	_ credo.TokenStore = (*DB)(nil)
	_ credo.CheckLog   = (*DB)(nil)
)

// CreateToken stores a new token (its secret's hash only). Created is
// kept to the microsecond.
func (db *DB) CreateToken(ctx context.Context, t *credo.Token) error {
	if t.ID == "" || t.Hash == "" || t.Role == "" {
		return credo.Errorf(credo.EINVALID, "a token needs an id, a hash and a role")
	}
	if t.Created.IsZero() {
		t.Created = db.opts.Now()
	}
	t.Created = t.Created.Truncate(time.Microsecond)
	sectors := t.Sectors
	if sectors == nil {
		sectors = []string{}
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO tokens (id, hash, role, name, authority, sectors, subject, created)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, t.ID, t.Hash, t.Role, t.Name, t.Authority, sectors, t.Subject, t.Created)
	if isUnique(err) {
		return credo.Errorf(credo.ECONFLICT, "token %s already exists", t.ID)
	}
	return internal("CreateToken", err)
}

const tokenCols = `id, hash, role, name, authority, sectors, subject, created, revoked`

func scanToken(sc interface{ Scan(...any) error }) (*credo.Token, error) {
	var t credo.Token
	var revoked *time.Time
	if err := sc.Scan(&t.ID, &t.Hash, &t.Role, &t.Name, &t.Authority, &t.Sectors, &t.Subject, &t.Created, &revoked); err != nil {
		return nil, err
	}
	if len(t.Sectors) == 0 {
		t.Sectors = nil
	}
	t.Created = t.Created.UTC()
	if revoked != nil {
		t.Revoked = revoked.UTC()
	}
	return &t, nil
}

// TokenByHash returns the token whose secret hashes to hash.
func (db *DB) TokenByHash(ctx context.Context, hash string) (*credo.Token, error) {
	t, err := scanToken(db.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1`, hash))
	if isNoRows(err) {
		return nil, credo.Errorf(credo.ENOTFOUND, "no such token")
	}
	return t, internal("TokenByHash", err)
}

// Tokens returns every token, oldest first.
func (db *DB) Tokens(ctx context.Context) ([]*credo.Token, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY created, id`)
	if err != nil {
		return nil, internal("Tokens", err)
	}
	defer rows.Close()
	var out []*credo.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, internal("Tokens", err)
		}
		out = append(out, t)
	}
	return out, internal("Tokens", rows.Err())
}

// RevokeToken revokes a token from instant at; revoking twice keeps the first.
func (db *DB) RevokeToken(ctx context.Context, id string, at time.Time) error {
	tag, err := db.pool.Exec(ctx, `UPDATE tokens SET revoked = COALESCE(revoked, $1) WHERE id = $2`, at, id)
	if err != nil {
		return internal("RevokeToken", err)
	}
	if tag.RowsAffected() == 0 {
		return credo.Errorf(credo.ENOTFOUND, "no token %s", id)
	}
	return nil
}

// LogChecks stores a batch of logged checks in one transaction and adds
// them to the daily counts. An entry already stored (a retried batch) is
// skipped and not counted again.
func (db *DB) LogChecks(ctx context.Context, cs []credo.CheckEntry) error {
	if len(cs) == 0 {
		return nil
	}
	n := len(cs)
	ids, checkers, orgs, subjects, sectors := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ats, knowns := make([]time.Time, n), make([]time.Time, n)
	policies, decisions, measures := make([]string, n), make([]string, n), make([]string, n)
	for i, c := range cs {
		ids[i], checkers[i], orgs[i], subjects[i], sectors[i] = c.ID, c.Checker, c.Org, c.Subject, c.Sector
		ats[i], knowns[i], policies[i], decisions[i] = c.At, c.Known, c.Policy, c.Decision
		measures[i] = encodeMeasures(c.Measures)
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return internal("LogChecks", err)
	}
	defer tx.Rollback(context.Background())
	// Only the rows actually inserted come back: an entry already stored
	// (a retried batch) is skipped and not counted twice.
	rows, err := tx.Query(ctx, `INSERT INTO checks (id, checker, org, subject, sector, at, known, policy, decision, measures)
		SELECT id, checker, org, subject, sector, at, known, policy, decision, string_to_array(measures, E'\x1f')
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
			$8::text[], $9::text[], $10::text[]) AS c (id, checker, org, subject, sector, at, known, policy, decision, measures)
		ON CONFLICT (id) DO NOTHING
		RETURNING (at AT TIME ZONE 'UTC')::date, sector, decision`,
		ids, checkers, orgs, subjects, sectors, ats, knowns, policies, decisions, measures)
	if err != nil {
		return internal("LogChecks", err)
	}
	type key struct {
		day              time.Time
		sector, decision string
	}
	counts := map[key]int64{}
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.day, &k.sector, &k.decision); err != nil {
			rows.Close()
			return internal("LogChecks", err)
		}
		counts[k]++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return internal("LogChecks", err)
	}
	// Upserted in key order, so that concurrent batches lock the counters
	// in the same order and never deadlock.
	ks := make([]key, 0, len(counts))
	for k := range counts {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		a, b := ks[i], ks[j]
		if !a.day.Equal(b.day) {
			return a.day.Before(b.day)
		}
		if a.sector != b.sector {
			return a.sector < b.sector
		}
		return a.decision < b.decision
	})
	days, secs, decs, ns := make([]time.Time, len(ks)), make([]string, len(ks)), make([]string, len(ks)), make([]int64, len(ks))
	for i, k := range ks {
		days[i], secs[i], decs[i], ns[i] = k.day, k.sector, k.decision, counts[k]
	}
	if len(ks) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO check_counts (day, sector, decision, n)
			SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::bigint[])
			ON CONFLICT (day, sector, decision) DO UPDATE SET n = check_counts.n + excluded.n`, days, secs, decs, ns); err != nil {
			return internal("LogChecks", err)
		}
	}
	return internal("LogChecks", tx.Commit(ctx))
}

// encodeMeasures joins measures with the unit separator for the array
// parameter ("" for none).
func encodeMeasures(ms []string) string {
	s := ""
	for i, m := range ms {
		if i > 0 {
			s += "\x1f"
		}
		s += m
	}
	return s
}

const checkCols = `id, checker, org, subject, sector, at, known, policy, decision, measures`

func scanCheck(sc interface{ Scan(...any) error }) (credo.CheckEntry, error) {
	var c credo.CheckEntry
	if err := sc.Scan(&c.ID, &c.Checker, &c.Org, &c.Subject, &c.Sector, &c.At, &c.Known, &c.Policy, &c.Decision, &c.Measures); err != nil {
		return c, err
	}
	c.At, c.Known = c.At.UTC(), c.Known.UTC()
	if len(c.Measures) == 0 {
		c.Measures = nil
	}
	return c, nil
}

// Check returns a logged check by id.
func (db *DB) Check(ctx context.Context, id string) (*credo.CheckEntry, error) {
	c, err := scanCheck(db.pool.QueryRow(ctx, `SELECT `+checkCols+` FROM checks WHERE id = $1`, id))
	if isNoRows(err) {
		return nil, credo.Errorf(credo.ENOTFOUND, "no check %s", id)
	}
	if err != nil {
		return nil, internal("Check", err)
	}
	return &c, nil
}

// ChecksOf returns the checks run on a subject, newest first.
func (db *DB) ChecksOf(ctx context.Context, subject string, limit int) ([]credo.CheckEntry, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.pool.Query(ctx, `SELECT `+checkCols+` FROM checks WHERE subject = $1 ORDER BY seq DESC LIMIT $2`, subject, limit)
	if err != nil {
		return nil, internal("ChecksOf", err)
	}
	defer rows.Close()
	var out []credo.CheckEntry
	for rows.Next() {
		c, err := scanCheck(rows)
		if err != nil {
			return nil, internal("ChecksOf", err)
		}
		out = append(out, c)
	}
	return out, internal("ChecksOf", rows.Err())
}

// CountChecks calls fn with the number of checks per day (UTC), sector and
// decision over the days from from to to: the statistics behind /v1/stats.
func (db *DB) CountChecks(ctx context.Context, from, to time.Time, fn func(day time.Time, sector, decision string, n int64) error) error {
	rows, err := db.pool.Query(ctx, `SELECT day, sector, decision, n FROM check_counts
		WHERE day >= $1::date AND day <= $2::date ORDER BY 1, 2, 3`,
		from.UTC().Format("2006-01-02"), to.UTC().Add(-time.Nanosecond).Format("2006-01-02"))
	if err != nil {
		return internal("CountChecks", err)
	}
	type row struct {
		day              time.Time
		sector, decision string
		n                int64
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.day, &r.sector, &r.decision, &r.n); err != nil {
			rows.Close()
			return internal("CountChecks", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return internal("CountChecks", err)
	}
	for _, r := range all {
		if err := fn(time.Date(r.day.Year(), r.day.Month(), r.day.Day(), 0, 0, 0, 0, time.UTC), r.sector, r.decision, r.n); err != nil {
			return err
		}
	}
	return nil
}

// ProbeWrite tells whether the database can write now: it commits a
// transaction that takes a transaction id, which needs room in the
// write-ahead log. The server's /readyz calls it while writes fail.
func (db *DB) ProbeWrite(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, "SELECT txid_current()")
	return internal("ProbeWrite", err)
}
