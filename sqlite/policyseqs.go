package sqlite

import (
	"context"

	"credo/internal/storecore"
)

// PolicySeqs returns the sequence numbers of the policy.published events,
// in order (receipts prove the policy versions in force over a file).
func (db *DB) PolicySeqs(ctx context.Context) ([]int64, error) {
	seqs, err := storecore.PolicySeqs(ctx, connQuerier{db.rdb})
	return seqs, internal("PolicySeqs", err)
}
