package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"strings"
	"time"

	"credo"
)

// Tokens and the check log are operational data, outside the hash-chained
// event log. They are written through their own connection (SQLite
// serialises it with the committer's transactions; busy_timeout absorbs
// the wait), so the event log's group commit is not disturbed.

var (
	_ credo.TokenStore = (*DB)(nil)
	_ credo.CheckLog   = (*DB)(nil)
)

func (db *DB) ops() (*sql.DB, error) {
	db.opsOnce.Do(func() {
		autoCheckpoint := "wal_autocheckpoint(0)" // the checkpointer does this work (see checkpointLoop)
		if db.opts.CheckpointInterval < 0 {
			autoCheckpoint = "wal_autocheckpoint(1000)"
		}
		db.odb, db.oerr = sql.Open("sqlite", dsn(db.path,
			"busy_timeout(10000)",
			"synchronous(FULL)",
			"temp_store(MEMORY)", // statement journals of multi-row inserts stay off the disk
			"cache_size(-65536)", // 64 MiB: the access-log index takes random inserts
			autoCheckpoint,
		))
		if db.oerr == nil {
			db.odb.SetMaxOpenConns(1)
		}
	})
	return db.odb, db.oerr
}

// CreateToken stores a new token (its secret's hash only).
func (db *DB) CreateToken(ctx context.Context, t *credo.Token) error {
	o, err := db.ops()
	if err != nil {
		return internal("CreateToken", err)
	}
	if t.ID == "" || t.Hash == "" || t.Role == "" {
		return credo.Errorf(credo.EINVALID, "a token needs an id, a hash and a role")
	}
	if t.Created.IsZero() {
		t.Created = db.opts.Now()
	}
	sectors, _ := json.Marshal(t.Sectors)
	_, err = o.ExecContext(ctx, `INSERT INTO tokens(id, hash, role, name, authority, sectors, subject, created)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?)`, t.ID, t.Hash, t.Role, t.Name, t.Authority, string(sectors), t.Subject, utcText(t.Created))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return credo.Errorf(credo.ECONFLICT, "token %s already exists", t.ID)
	}
	return internal("CreateToken", err)
}

const tokenCols = `id, hash, role, name, authority, sectors, subject, created, revoked`

func scanToken(sc interface{ Scan(...any) error }) (*credo.Token, error) {
	var t credo.Token
	var sectors, created string
	var revoked sql.NullString
	if err := sc.Scan(&t.ID, &t.Hash, &t.Role, &t.Name, &t.Authority, &sectors, &t.Subject, &created, &revoked); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(sectors), &t.Sectors); err != nil {
		return nil, err
	}
	t.Created, _ = time.Parse(time.RFC3339Nano, created)
	if revoked.Valid {
		t.Revoked, _ = time.Parse(time.RFC3339Nano, revoked.String)
	}
	return &t, nil
}

// TokenByHash returns the token whose secret hashes to hash.
func (db *DB) TokenByHash(ctx context.Context, hash string) (*credo.Token, error) {
	t, err := scanToken(db.rdb.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, credo.Errorf(credo.ENOTFOUND, "no such token")
	}
	return t, internal("TokenByHash", err)
}

// Tokens returns every token, oldest first.
func (db *DB) Tokens(ctx context.Context) ([]*credo.Token, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY created, id`)
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
	o, err := db.ops()
	if err != nil {
		return internal("RevokeToken", err)
	}
	res, err := o.ExecContext(ctx, `UPDATE tokens SET revoked = COALESCE(revoked, ?) WHERE id = ?`, utcText(at), id)
	if err != nil {
		return internal("RevokeToken", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return credo.Errorf(credo.ENOTFOUND, "no token %s", id)
	}
	return nil
}

// checkRowsPerInsert is how many checks one INSERT statement carries.
const checkRowsPerInsert = 64

// LogChecks stores a batch of logged checks in one transaction, with
// multi-row inserts, and adds them to the daily counts. An entry already
// stored (a retried batch) is skipped and not counted again.
func (db *DB) LogChecks(ctx context.Context, cs []credo.CheckEntry) error {
	if len(cs) == 0 {
		return nil
	}
	o, stmts, err := db.checkLogStmts()
	if err != nil {
		return internal("LogChecks", err)
	}
	if err := injectedFault("write"); err != nil {
		return internal("LogChecks", err)
	}
	sqlTx, err := o.BeginTx(ctx, nil)
	if err != nil {
		return internal("LogChecks", err)
	}
	defer sqlTx.Rollback()
	tx := &clTx{Tx: sqlTx, c: stmts}
	const cols = 11
	args := make([]any, 0, cols*checkRowsPerInsert)
	type key struct{ day, sector, decision string }
	counts := map[key]int64{}
	indexed := make([]any, 0, 2*len(cs)) // subject key and seq of each check inserted
	for i := 0; i < len(cs); {
		n := rowsPerStmt(len(cs)-i, checkRowsPerInsert)
		chunk := cs[i : i+n]
		i += n
		args = args[:0]
		for _, c := range chunk {
			args = append(args, c.ID, subjectKey(c.Subject), c.Checker, c.Org, c.Subject, c.Sector, utcText(c.At), utcText(c.Known),
				c.Policy, c.Decision, strings.Join(c.Measures, ","))
		}
		// Only the rows actually inserted come back: an entry already
		// stored (a retried batch) is skipped and not counted twice.
		rows, err := tx.QueryContext(ctx, checkInsert(n), args...)
		if err != nil {
			return internal("LogChecks", err)
		}
		for rows.Next() {
			var day, sector, decision string
			var skey, seq int64
			if err := rows.Scan(&day, &sector, &decision, &skey, &seq); err != nil {
				rows.Close()
				return internal("LogChecks", err)
			}
			counts[key{day, sector, decision}]++
			indexed = append(indexed, skey, seq)
		}
		if err := rows.Close(); err != nil {
			return internal("LogChecks", err)
		}
	}
	if err := indexChecks(ctx, tx, indexed); err != nil {
		return internal("LogChecks", err)
	}
	for k, n := range counts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO check_counts(day, sector, decision, n) VALUES(?, ?, ?, ?)
			ON CONFLICT(day, sector, decision) DO UPDATE SET n = n + excluded.n`, k.day, k.sector, k.decision, n); err != nil {
			return internal("LogChecks", err)
		}
	}
	return internal("LogChecks", sqlTx.Commit())
}

func checkInsert(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT OR IGNORE INTO checks(id, skey, checker, org, subject, sector, at, known, policy, decision, measures) VALUES `)
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?)")
	}
	b.WriteString(" RETURNING substr(at, 1, 10), sector, decision, skey, seq")
	return b.String()
}

const checkCols = `id, checker, org, subject, sector, at, known, policy, decision, measures`

func scanCheck(sc interface{ Scan(...any) error }) (credo.CheckEntry, error) {
	var c credo.CheckEntry
	var at, known, measures string
	if err := sc.Scan(&c.ID, &c.Checker, &c.Org, &c.Subject, &c.Sector, &at, &known, &c.Policy, &c.Decision, &measures); err != nil {
		return c, err
	}
	c.At, _ = time.Parse(time.RFC3339Nano, at)
	c.Known, _ = time.Parse(time.RFC3339Nano, known)
	if measures != "" {
		c.Measures = strings.Split(measures, ",")
	}
	return c, nil
}

// Check returns a logged check by id.
func (db *DB) Check(ctx context.Context, id string) (*credo.CheckEntry, error) {
	cl, err := db.checkLog()
	if err != nil {
		return nil, internal("Check", err)
	}
	c, err := scanCheck(cl.QueryRowContext(ctx, `SELECT `+checkCols+` FROM checks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
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
	cl, err := db.checkLog()
	if err != nil {
		return nil, internal("ChecksOf", err)
	}
	rows, err := cl.QueryContext(ctx, checksOfQuery, subjectKey(subject), subject, limit)
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

// CheckStat counts checks of one sector, day and decision.
type CheckStat struct {
	Day      string `json:"day"` // YYYY-MM-DD (UTC)
	Sector   string `json:"sector"`
	Decision string `json:"decision"`
	Count    int64  `json:"count"`
}

// CheckStats counts checks by day, sector and decision over the days
// (UTC) from from to to, from the counts kept with each batch.
func (db *DB) CheckStats(ctx context.Context, from, to time.Time) ([]CheckStat, error) {
	cl, err := db.checkLog()
	if err != nil {
		return nil, internal("CheckStats", err)
	}
	rows, err := cl.QueryContext(ctx, `SELECT day, sector, decision, n FROM check_counts
		WHERE day >= ? AND day < ? ORDER BY 1, 2, 3`, utcText(from)[:10], utcText(to.Add(24*time.Hour - 1))[:10])
	if err != nil {
		return nil, internal("CheckStats", err)
	}
	defer rows.Close()
	var out []CheckStat
	for rows.Next() {
		var s CheckStat
		if err := rows.Scan(&s.Day, &s.Sector, &s.Decision, &s.Count); err != nil {
			return nil, internal("CheckStats", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("CheckStats", err)
	}
	return out, nil
}

// CountChecks calls fn with the number of checks per day (UTC), sector and
// decision over the days from from to to: the statistics behind /v1/stats.
func (db *DB) CountChecks(ctx context.Context, from, to time.Time, fn func(day time.Time, sector, decision string, n int64) error) error {
	st, err := db.CheckStats(ctx, from, to)
	if err != nil {
		return err
	}
	for _, s := range st {
		d, err := time.Parse("2006-01-02", s.Day)
		if err != nil {
			return internal("CountChecks", err)
		}
		if err := fn(d, s.Sector, s.Decision, s.Count); err != nil {
			return err
		}
	}
	return nil
}
