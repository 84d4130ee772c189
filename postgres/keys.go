package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"credo"
	"credo/internal/storecore"
)

var (
	_ credo.KeyStore    = (*DB)(nil)
	_ credo.CheckEraser = (*DB)(nil)
)

const keyCols = `pseudonym, kek_id, wrapped, sealed_id`

func scanKeys(rows pgx.Rows) ([]credo.SubjectKey, error) {
	defer rows.Close()
	var out []credo.SubjectKey
	for rows.Next() {
		var k credo.SubjectKey
		if err := rows.Scan(&k.Pseudonym, &k.KEKID, &k.Wrapped, &k.SealedID); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// EnsureSubjectKeys stores the keys of subjects that have none and returns
// the stored key of each given pseudonym.
func (db *DB) EnsureSubjectKeys(ctx context.Context, keys []credo.SubjectKey) ([]credo.SubjectKey, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ps := make([]string, len(keys))
	kids := make([]string, len(keys))
	ws := make([][]byte, len(keys))
	ids := make([][]byte, len(keys))
	for i, k := range keys {
		ps[i], kids[i], ws[i], ids[i] = k.Pseudonym, k.KEKID, k.Wrapped, k.SealedID
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO subject_keys (`+keyCols+`)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[])
		ON CONFLICT (pseudonym) DO NOTHING`, ps, kids, ws, ids); err != nil {
		return nil, internal("EnsureSubjectKeys", err)
	}
	return db.SubjectKeys(ctx, ps)
}

// SubjectKeys returns the stored keys of the pseudonyms that have one.
func (db *DB) SubjectKeys(ctx context.Context, pseudonyms []string) ([]credo.SubjectKey, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+keyCols+` FROM subject_keys WHERE pseudonym = ANY($1)`, pseudonyms)
	if err != nil {
		return nil, internal("SubjectKeys", err)
	}
	out, err := scanKeys(rows)
	return out, internal("SubjectKeys", err)
}

// AllSubjectKeys calls fn for every stored key after the pseudonym after,
// in pseudonym order.
func (db *DB) AllSubjectKeys(ctx context.Context, after string, fn func(credo.SubjectKey) error) error {
	return storecore.PageKeys(after, func(after string) ([]credo.SubjectKey, error) {
		rows, err := db.pool.Query(ctx, `SELECT `+keyCols+` FROM subject_keys WHERE pseudonym > $1 ORDER BY pseudonym LIMIT $2`, after, storecore.KeyPage)
		if err != nil {
			return nil, internal("AllSubjectKeys", err)
		}
		batch, err := scanKeys(rows)
		return batch, internal("AllSubjectKeys", err)
	}, fn)
}

// RewrapSubjectKeys replaces the wrapping of the given keys in one
// transaction.
func (db *DB) RewrapSubjectKeys(ctx context.Context, keys []credo.SubjectKey) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return internal("RewrapSubjectKeys", err)
	}
	defer tx.Rollback(ctx)
	for _, k := range keys {
		if _, err := tx.Exec(ctx, `UPDATE subject_keys SET kek_id = $1, wrapped = $2 WHERE pseudonym = $3`, k.KEKID, k.Wrapped, k.Pseudonym); err != nil {
			return internal("RewrapSubjectKeys", err)
		}
	}
	return internal("RewrapSubjectKeys", tx.Commit(ctx))
}

// DeleteSubjectKey destroys a subject's key. PostgreSQL leaves the
// deleted tuple in its page until VACUUM reclaims it (and its bytes until
// the page is rewritten): the table is vacuumed at once, which marks the
// space free but does not zero it; see docs/threat-model.md.
func (db *DB) DeleteSubjectKey(ctx context.Context, pseudonym string) (bool, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM subject_keys WHERE pseudonym = $1`, pseudonym)
	if err != nil {
		return false, internal("DeleteSubjectKey", err)
	}
	if _, err := db.pool.Exec(ctx, `VACUUM subject_keys`); err != nil {
		return tag.RowsAffected() > 0, internal("DeleteSubjectKey", err)
	}
	return tag.RowsAffected() > 0, nil
}

// SealInfo returns what the registry records about its sealing.
func (db *DB) SealInfo(ctx context.Context) (map[string]string, error) {
	out, err := storecore.SealInfo(ctx, pgQuerier{db.pool})
	return out, internal("SealInfo", err)
}

// SetSealInfo records one value about the registry's sealing.
func (db *DB) SetSealInfo(ctx context.Context, name, value string) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO seal_info (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
	return internal("SetSealInfo", err)
}

// DeleteChecksOf deletes the checks run on a subject from the check log.
func (db *DB) DeleteChecksOf(ctx context.Context, subject string) (int64, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM checks WHERE subject = $1`, subject)
	if err != nil {
		return 0, internal("DeleteChecksOf", err)
	}
	return tag.RowsAffected(), nil
}
