package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// PutCheckpoint keeps a signed checkpoint of the log (its signed note),
// for the nodes that serve this database without signing
// (transparency.CheckpointStore).
func (db *DB) PutCheckpoint(ctx context.Context, size int64, note []byte) error {
	_, err := db.pool.Exec(ctx, "INSERT INTO checkpoints (size, note) VALUES ($1, $2) ON CONFLICT (size) DO NOTHING", size, note)
	return internal("PutCheckpoint", err)
}

// LatestCheckpoint returns the signed note of the largest checkpoint kept
// (nil: none).
func (db *DB) LatestCheckpoint(ctx context.Context) ([]byte, error) {
	var note []byte
	err := db.pool.QueryRow(ctx, "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1").Scan(&note)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return note, internal("LatestCheckpoint", err)
}
