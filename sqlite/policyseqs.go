package sqlite

import "context"

// PolicySeqs returns the sequence numbers of the policy.published events,
// in order (receipts prove the policy versions in force over a file).
func (db *DB) PolicySeqs(ctx context.Context) ([]int64, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT seq FROM policies ORDER BY seq`)
	if err != nil {
		return nil, internal("PolicySeqs", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, internal("PolicySeqs", err)
		}
		out = append(out, seq)
	}
	return out, internal("PolicySeqs", rows.Err())
}
