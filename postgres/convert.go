package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"credo"
	"credo/internal/storecore"
)

// Conversion is what ConvertFormat did.
type Conversion struct {
	Events   int64              // events re-encoded
	Migrated *credo.Event       // the log.migrated event that ends the new chain
	Verified credo.VerifyResult // the new chain, verified before committing
}

// ConvertFormat converts the registry in the database at dsn from
// encoding version 1 (JSON bodies, hex text hash columns; schema versions
// before 0090) to the compact encoding, in one transaction, as
// sqlite.ConvertFormat does: verify the old chain, re-encode every event
// in order into a new chain (through hook, see storecore.Converter),
// append a log.migrated event recording the old head, verify the new
// chain, commit. The Merkle tree and the signed checkpoints of the old log
// are dropped (the tree is built again by the next Open). A registry
// already in the compact encoding is refused with EINVALID.
func ConvertFormat(ctx context.Context, dsn string, hook func(*credo.Event) (bool, error)) (*Conversion, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "postgres: %v", err)
	}
	defer pool.Close()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, &credo.Error{Code: credo.EUNAVAILABLE, Op: "postgres.ConvertFormat", Message: "cannot reach the database: " + err.Error(), Err: err}
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		return nil, internal("ConvertFormat", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(migrationLock))
	var cur int
	if err := conn.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM schema_migrations").Scan(&cur); err != nil {
		return nil, credo.Errorf(credo.EINVALID, "postgres: the database has no Credo schema: nothing to convert (%v)", err)
	}
	if cur == 0 || cur >= storecore.CompactSchema {
		return nil, credo.Errorf(credo.EINVALID, "the database is not a registry in the format before the compact encoding (schema version %d): nothing to convert", cur)
	}
	ms, err := loadMigrations()
	if err != nil {
		return nil, internal("ConvertFormat", err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, internal("ConvertFormat", err)
	}
	defer tx.Rollback(context.Background())
	apply := func(from, upTo int) error {
		for _, m := range ms {
			if m.Version <= from || m.Version > upTo {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return internal("ConvertFormat", fmt.Errorf("%s: %w", m.Name, err))
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
				return internal("ConvertFormat", err)
			}
		}
		return nil
	}
	if err := apply(cur, storecore.CompactSchema-1); err != nil {
		return nil, err
	}

	// The old chain must verify (under the log lock).
	headHash, err := verifyLegacy(ctx, tx)
	if err != nil {
		return nil, err
	}

	if _, err := tx.Exec(ctx, "ALTER TABLE events DISABLE TRIGGER events_no_update"); err != nil {
		return nil, internal("ConvertFormat", err)
	}
	// 0090 turns the hash columns into bytes; the rows are rewritten below.
	if err := apply(storecore.CompactSchema-1, storecore.CompactSchema); err != nil {
		return nil, err
	}
	conv := &storecore.Converter{Hook: hook}
	res := &Conversion{}
	if res.Events, err = reencode(ctx, tx, conv); err != nil {
		return nil, err
	}
	ev, body, err := conv.Migrated(headHash, time.Now())
	if err != nil {
		return nil, internal("ConvertFormat", err)
	}
	for _, s := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO events (seq, type, subject, recorded, body, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			[]any{ev.Seq, string(ev.Type), ev.Subject, ev.Recorded, body, storecore.RawHash(ev.PrevHash), storecore.RawHash(ev.Hash)}},
		{"UPDATE log_head SET seq = $1, hash = $2 WHERE id = 1", []any{ev.Seq, storecore.RawHash(ev.Hash)}},
		{"DELETE FROM tree_hashes", nil}, // the tree of the old bodies: built again on open
		{"DELETE FROM checkpoints", nil}, // signed over the old tree
		{"ALTER TABLE events ENABLE TRIGGER events_no_update", nil},
	} {
		if _, err := tx.Exec(ctx, s.q, s.args...); err != nil {
			return nil, internal("ConvertFormat", err)
		}
	}
	if err := apply(storecore.CompactSchema, math.MaxInt); err != nil {
		return nil, err
	}
	// The new chain must verify before it replaces the old.
	if res.Verified, err = verifyTx(ctx, tx); err != nil {
		return nil, err
	}
	if !res.Verified.OK || res.Verified.HeadSeq != ev.Seq {
		return nil, credo.Errorf(credo.EINTERNAL, "the converted log does not verify (%s): nothing converted", res.Verified.Problem)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, internal("ConvertFormat", err)
	}
	res.Migrated = ev
	return res, nil
}

// verifyLegacy verifies the old chain (JSON bodies, hex text hash
// columns) under the log lock and returns its head hash; a log that does
// not verify is refused.
func verifyLegacy(ctx context.Context, tx pgx.Tx) (string, error) {
	var headSeq int64
	var headHash string
	if err := tx.QueryRow(ctx, "SELECT seq, hash FROM log_head WHERE id = 1 FOR UPDATE").Scan(&headSeq, &headHash); err != nil {
		return "", internal("ConvertFormat", err)
	}
	// (Not the text Verify queries: the columns change type in this
	// transaction, and a statement prepared before cannot be reused.)
	old, err := storecore.CheckLegacyChain(ctx, pgQuerier{tx}, "SELECT seq, type, subject, body, prev_hash, hash FROM events ORDER BY seq -- format 1", true, headSeq, headHash)
	if err != nil {
		return "", internal("ConvertFormat", err)
	}
	if !old.OK {
		return "", credo.Errorf(credo.ECONFLICT, "the log in the old format does not verify (%s): nothing converted; restore a backup first", old.Problem)
	}
	return headHash, nil
}

// reencode rewrites every event of the old log in the new encoding.
func reencode(ctx context.Context, tx pgx.Tx, conv *storecore.Converter) (int64, error) {
	var n int64
	for after := int64(0); ; {
		rows, err := tx.Query(ctx, "SELECT seq, body FROM events WHERE seq > $1 ORDER BY seq LIMIT 4096", after)
		if err != nil {
			return n, internal("ConvertFormat", err)
		}
		var seqs []int64
		var bodies [][]byte
		for rows.Next() {
			var seq int64
			var body []byte
			if err := rows.Scan(&seq, &body); err != nil {
				rows.Close()
				return n, internal("ConvertFormat", err)
			}
			seqs, bodies = append(seqs, seq), append(bodies, body)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return n, internal("ConvertFormat", err)
		}
		if len(seqs) == 0 {
			return n, nil
		}
		var b pgx.Batch
		for i, seq := range seqs {
			prev := storecore.RawHash(conv.Prev())
			body, hash, err := conv.Event(seq, bodies[i])
			if err != nil {
				return n, credo.Errorf(credo.EINTERNAL, "converting: %v", err)
			}
			b.Queue("UPDATE events SET body = $1, prev_hash = $2, hash = $3 WHERE seq = $4", body, prev, storecore.RawHash(hash), seq)
			n++
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return n, internal("ConvertFormat", err)
		}
		after = seqs[len(seqs)-1]
	}
}
