package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	"credo"
	"credo/internal/storecore"
)

// Conversion is what ConvertFormat did.
type Conversion struct {
	Events   int64              // events re-encoded
	Migrated *credo.Event       // the log.migrated event that ends the new chain
	Verified credo.VerifyResult // the new chain, verified before committing
}

// ConvertFormat converts the registry at path from encoding version 1
// (JSON bodies, hex hash columns; schema versions before 0090) to the
// compact encoding, in one transaction: it verifies the old chain (and
// refuses a log that does not verify), re-encodes every event in order
// into a new chain (hook may change an event first, see
// storecore.Converter), appends a log.migrated event recording the old
// head, verifies the new chain, and commits only then. The Merkle tree is
// dropped and built again by the next Open. A registry already in the
// compact encoding is refused with EINVALID; the file must not be open
// elsewhere.
func ConvertFormat(ctx context.Context, path string, hook func(*credo.Event) (bool, error)) (*Conversion, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, internal("ConvertFormat", err)
	}
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		return nil, credo.Errorf(credo.ENOTFOUND, "no registry at %s", abs)
	}
	raw, err := sql.Open("sqlite", dsn(abs, "busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(0)")) // checked before the commit (foreignKeyCheck)
	if err != nil {
		return nil, internal("ConvertFormat", err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	conn, err := raw.Conn(ctx)
	if err != nil {
		return nil, internal("ConvertFormat", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return nil, internal("ConvertFormat", err)
	}
	committed := false
	defer func() {
		if !committed {
			conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	ms, err := loadMigrations()
	if err != nil {
		return nil, internal("ConvertFormat", err)
	}
	if _, err := conn.ExecContext(ctx, createSchemaVersion); err != nil {
		return nil, internal("ConvertFormat", err)
	}
	var cur int
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&cur); err != nil {
		return nil, internal("ConvertFormat", err)
	}
	if cur == 0 || cur >= storecore.CompactSchema {
		return nil, credo.Errorf(credo.EINVALID, "%s is not a registry in the format before the compact encoding (schema version %d): nothing to convert", abs, cur)
	}
	// The schema as it was just before the compact encoding.
	if err := applyMigrations(ctx, conn, ms, cur, storecore.CompactSchema-1); err != nil {
		return nil, err
	}

	// The old chain must verify.
	old, err := verifyLegacy(ctx, conn)
	if err != nil {
		return nil, err
	}
	if !old.OK {
		return nil, credo.Errorf(credo.ECONFLICT, "the log in the old format does not verify (%s): nothing converted; restore a backup first", old.Problem)
	}

	for _, q := range []string{"DROP TRIGGER events_no_update", "DROP TRIGGER events_no_delete"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, internal("ConvertFormat", err)
		}
	}
	conv := &storecore.Converter{Hook: hook}
	res := &Conversion{}
	if res.Events, err = reencode(ctx, conn, conv); err != nil {
		return nil, err
	}
	ev, body, err := conv.Migrated(old.HeadHash, time.Now())
	if err != nil {
		return nil, internal("ConvertFormat", err)
	}
	stmts := []struct {
		q    string
		args []any
	}{
		{insertEvent, eventRow(ev.Seq, ev.Type, body, storecore.RawHash(ev.Hash))},
		{`INSERT INTO head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`,
			[]any{ev.Seq, storecore.RawHash(ev.Hash)}},
		{"DELETE FROM tree_hashes", nil}, // the tree of the old bodies: built again on open
		{eventsNoUpdate, nil},
		{eventsNoDelete, nil},
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s.q, s.args...); err != nil {
			return nil, internal("ConvertFormat", err)
		}
	}
	refsBefore, err := countRecordReferences(ctx, conn)
	if err != nil {
		return nil, err
	}
	if err := applyMigrations(ctx, conn, ms, storecore.CompactSchema-1, math.MaxInt); err != nil {
		return nil, err
	}
	if err := foreignKeyCheck(ctx, conn, refsBefore); err != nil {
		return nil, err
	}
	// The new chain must verify before it replaces the old.
	if res.Verified, err = verifyConn(ctx, conn); err != nil {
		return nil, err
	}
	if !res.Verified.OK || res.Verified.HeadSeq != ev.Seq {
		return nil, credo.Errorf(credo.EINTERNAL, "the converted log does not verify (%s): nothing converted", res.Verified.Problem)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return nil, internal("ConvertFormat", err)
	}
	committed = true
	res.Migrated = ev
	return res, nil
}

// The append-only triggers of migration 0001, made again after the
// conversion.
const (
	eventsNoUpdate = `CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only: update refused');
END`
	eventsNoDelete = `CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only: delete refused');
END`
)

// reencode rewrites every event of the old log in the new encoding, as
// a compact row (writer.go: the subject, recorded and prev_hash columns
// emptied, the type as its code).
func reencode(ctx context.Context, conn *sql.Conn, conv *storecore.Converter) (int64, error) {
	var n int64
	for after := int64(0); ; {
		seqs, bodies, err := legacyBatch(ctx, conn, after)
		if err != nil || len(seqs) == 0 {
			return n, err
		}
		for i, seq := range seqs {
			body, hash, err := conv.Event(seq, bodies[i])
			if err != nil {
				return n, credo.Errorf(credo.EINTERNAL, "converting: %v", err)
			}
			typ, _, err := storecore.BodyHead(body)
			if err != nil {
				return n, credo.Errorf(credo.EINTERNAL, "converting: event %d: %v", seq, err)
			}
			if _, err := conn.ExecContext(ctx, "UPDATE events SET type = ?, subject = '', recorded = 0, body = ?, prev_hash = X'', hash = ? WHERE seq = ?",
				storecore.TypeColumn(typ), body, storecore.RawHash(hash), seq); err != nil {
				return n, internal("ConvertFormat", err)
			}
			n++
		}
		after = seqs[len(seqs)-1]
	}
}

// legacyBatch reads the next events of the old log.
func legacyBatch(ctx context.Context, conn *sql.Conn, after int64) ([]int64, [][]byte, error) {
	rows, err := conn.QueryContext(ctx, "SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT 4096", after)
	if err != nil {
		return nil, nil, internal("ConvertFormat", err)
	}
	defer rows.Close()
	var seqs []int64
	var bodies [][]byte
	for rows.Next() {
		var seq int64
		var body []byte
		if err := rows.Scan(&seq, &body); err != nil {
			return nil, nil, internal("ConvertFormat", err)
		}
		seqs, bodies = append(seqs, seq), append(bodies, body)
	}
	return seqs, bodies, internal("ConvertFormat", rows.Err())
}

// verifyLegacy verifies the old chain (hex text hash columns, JSON bodies).
func verifyLegacy(ctx context.Context, conn *sql.Conn) (credo.VerifyResult, error) {
	var headSeq int64
	var headHash string
	err := conn.QueryRowContext(ctx, "SELECT seq, hash FROM head WHERE id = 1").Scan(&headSeq, &headHash)
	haveHead := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return credo.VerifyResult{}, internal("ConvertFormat", err)
	}
	old, err := storecore.CheckLegacyChain(ctx, connQuerier{conn}, "SELECT seq, type, subject, body, prev_hash, hash FROM events ORDER BY seq", haveHead, headSeq, headHash)
	return old, internal("ConvertFormat", err)
}
