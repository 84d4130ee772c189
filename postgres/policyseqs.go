package postgres

import (
	"context"

	"credo/internal/storecore"
)

// PolicySeqs returns the sequence numbers of the policy.published events,
// in order (receipts prove the policy versions in force over a file).
func (db *DB) PolicySeqs(ctx context.Context) ([]int64, error) {
	seqs, err := storecore.PolicySeqs(ctx, pgQuerier{db.pool})
	return seqs, internal("PolicySeqs", err)
}
