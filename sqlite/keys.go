package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"credo"
	"credo/internal/storecore"
)

var (
	_ credo.KeyStore    = (*DB)(nil)
	_ credo.CheckEraser = (*DB)(nil)
)

// EnsureSubjectKeys stores the keys of subjects that have none and returns
// the stored key of each given pseudonym.
func (db *DB) EnsureSubjectKeys(ctx context.Context, keys []credo.SubjectKey) ([]credo.SubjectKey, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	o, err := db.ops()
	if err != nil {
		return nil, internal("EnsureSubjectKeys", err)
	}
	tx, err := o.BeginTx(ctx, nil)
	if err != nil {
		return nil, internal("EnsureSubjectKeys", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO subject_keys (pseudonym, kek_id, wrapped, sealed_id) VALUES (?, ?, ?, ?)
		ON CONFLICT (pseudonym) DO NOTHING`)
	if err != nil {
		return nil, internal("EnsureSubjectKeys", err)
	}
	defer st.Close()
	// A key inserted is stored as given; only those another writer stored
	// first are read back.
	out := make([]credo.SubjectKey, 0, len(keys))
	var ps []string
	for _, k := range keys {
		res, err := st.ExecContext(ctx, k.Pseudonym, k.KEKID, k.Wrapped, k.SealedID)
		if err != nil {
			return nil, internal("EnsureSubjectKeys", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			out = append(out, k)
		} else {
			ps = append(ps, k.Pseudonym)
		}
	}
	if len(ps) > 0 {
		stored, err := subjectKeys(ctx, tx, ps)
		if err != nil {
			return nil, internal("EnsureSubjectKeys", err)
		}
		out = append(out, stored...)
	}
	return out, internal("EnsureSubjectKeys", tx.Commit())
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func subjectKeys(ctx context.Context, q querier, ps []string) ([]credo.SubjectKey, error) {
	var out []credo.SubjectKey
	for len(ps) > 0 {
		n := min(len(ps), 500)
		args := make([]any, n)
		for i := range n {
			args[i] = ps[i]
		}
		rows, err := q.QueryContext(ctx, `SELECT pseudonym, kek_id, wrapped, sealed_id FROM subject_keys WHERE pseudonym IN (?`+
			strings.Repeat(", ?", n-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		if out, err = appendKeys(out, rows); err != nil {
			return nil, err
		}
		ps = ps[n:]
	}
	return out, nil
}

// SubjectKeysRange returns the stored keys of the pseudonyms from first to
// last, both included, in order (seal.KeyRanger): one range of the key
// table, read in order, instead of a lookup of each.
func (db *DB) SubjectKeysRange(ctx context.Context, first, last string) ([]credo.SubjectKey, error) {
	rows, err := db.query(ctx, `SELECT pseudonym, kek_id, wrapped, sealed_id FROM subject_keys
		WHERE pseudonym >= ? AND pseudonym <= ? ORDER BY pseudonym`, first, last)
	if err != nil {
		return nil, internal("SubjectKeysRange", err)
	}
	out, err := appendKeys(nil, rows)
	return out, internal("SubjectKeysRange", err)
}

// appendKeys appends the keys of rows (pseudonym, kek_id, wrapped,
// sealed_id) to out and closes rows.
func appendKeys(out []credo.SubjectKey, rows *sql.Rows) ([]credo.SubjectKey, error) {
	defer rows.Close()
	for rows.Next() {
		var k credo.SubjectKey
		if err := rows.Scan(&k.Pseudonym, &k.KEKID, &k.Wrapped, &k.SealedID); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}

// SubjectKeys returns the stored keys of the pseudonyms that have one.
func (db *DB) SubjectKeys(ctx context.Context, pseudonyms []string) ([]credo.SubjectKey, error) {
	out, err := subjectKeys(ctx, db.rdb, pseudonyms)
	return out, internal("SubjectKeys", err)
}

// AllSubjectKeys calls fn for every stored key after the pseudonym after,
// in pseudonym order.
func (db *DB) AllSubjectKeys(ctx context.Context, after string, fn func(credo.SubjectKey) error) error {
	return storecore.PageKeys(after, func(after string) ([]credo.SubjectKey, error) {
		rows, err := db.rdb.QueryContext(ctx, `SELECT pseudonym, kek_id, wrapped, sealed_id FROM subject_keys
			WHERE pseudonym > ? ORDER BY pseudonym LIMIT ?`, after, storecore.KeyPage)
		if err != nil {
			return nil, internal("AllSubjectKeys", err)
		}
		defer rows.Close()
		var batch []credo.SubjectKey
		for rows.Next() {
			var k credo.SubjectKey
			if err := rows.Scan(&k.Pseudonym, &k.KEKID, &k.Wrapped, &k.SealedID); err != nil {
				return nil, internal("AllSubjectKeys", err)
			}
			batch = append(batch, k)
		}
		return batch, internal("AllSubjectKeys", rows.Err())
	}, fn)
}

// RewrapSubjectKeys replaces the wrapping of the given keys in one
// transaction.
func (db *DB) RewrapSubjectKeys(ctx context.Context, keys []credo.SubjectKey) error {
	o, err := db.ops()
	if err != nil {
		return internal("RewrapSubjectKeys", err)
	}
	tx, err := o.BeginTx(ctx, nil)
	if err != nil {
		return internal("RewrapSubjectKeys", err)
	}
	defer tx.Rollback()
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, `UPDATE subject_keys SET kek_id = ?, wrapped = ? WHERE pseudonym = ?`, k.KEKID, k.Wrapped, k.Pseudonym); err != nil {
			return internal("RewrapSubjectKeys", err)
		}
	}
	return internal("RewrapSubjectKeys", tx.Commit())
}

// DeleteSubjectKey destroys a subject's key: with secure_delete on, so
// that the freed cell is zeroed, and a checkpoint that truncates the
// write-ahead log after, so that no earlier version of the page stays in
// it.
func (db *DB) DeleteSubjectKey(ctx context.Context, pseudonym string) (bool, error) {
	o, err := db.ops()
	if err != nil {
		return false, internal("DeleteSubjectKey", err)
	}
	conn, err := o.Conn(ctx)
	if err != nil {
		return false, internal("DeleteSubjectKey", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
		return false, internal("DeleteSubjectKey", err)
	}
	res, err := conn.ExecContext(ctx, "DELETE FROM subject_keys WHERE pseudonym = ?", pseudonym)
	if err != nil {
		return false, internal("DeleteSubjectKey", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, internal("DeleteSubjectKey", db.truncateWAL(ctx, conn))
}

// truncateWAL checkpoints the whole write-ahead log into the file and
// truncates it, retrying while readers hold older snapshots.
func (db *DB) truncateWAL(ctx context.Context, conn *sql.Conn) error {
	for range 50 {
		var busy, logN, done int
		if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logN, &done); err != nil {
			return err
		}
		if busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return credo.Errorf(credo.EUNAVAILABLE, "sqlite: the write-ahead log could not be truncated (readers kept it busy): the erased key may remain in it until the next checkpoint")
}

// SealInfo returns what the registry records about its sealing.
func (db *DB) SealInfo(ctx context.Context) (map[string]string, error) {
	out, err := storecore.SealInfo(ctx, connQuerier{db.rdb})
	return out, internal("SealInfo", err)
}

// SetSealInfo records one value about the registry's sealing.
func (db *DB) SetSealInfo(ctx context.Context, name, value string) error {
	o, err := db.ops()
	if err != nil {
		return internal("SetSealInfo", err)
	}
	_, err = o.ExecContext(ctx, `INSERT INTO seal_info (name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	return internal("SetSealInfo", err)
}

// DeleteChecksOf deletes the checks run on a subject from the check log
// (secure_delete on, then the check log's write-ahead log truncated).
func (db *DB) DeleteChecksOf(ctx context.Context, subject string) (int64, error) {
	cl, err := db.checkLog()
	if err != nil {
		return 0, internal("DeleteChecksOf", err)
	}
	conn, err := cl.Conn(ctx)
	if err != nil {
		return 0, internal("DeleteChecksOf", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
		return 0, internal("DeleteChecksOf", err)
	}
	res, err := conn.ExecContext(ctx, `DELETE FROM checks WHERE seq IN (
		SELECT seq FROM check_tail WHERE skey = ?1
		UNION ALL
		SELECT ci.seq FROM check_runs r CROSS JOIN check_index ci ON ci.run = r.id AND ci.skey = ?1
	) AND subject = ?2`, subjectKey(subject), subject)
	if err != nil {
		return 0, internal("DeleteChecksOf", err)
	}
	n, _ := res.RowsAffected()
	return n, internal("DeleteChecksOf", db.truncateWAL(ctx, conn))
}
