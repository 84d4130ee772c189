package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"credo"
	"credo/internal/storecore"
)

// Verify re-walks the log in sequence order, in one read-only snapshot
// (REPEATABLE READ), and checks every event: the sequence is contiguous
// from 1, the stored hash is the SHA-256 of the stored body, the body
// decodes to an event whose seq, type, subject and prev_hash are the
// row's, and prev_hash is the hash of the event before. Finally the end of
// the log must be the head recorded in log_head, which catches a log cut
// short at its end. It reports the first event that fails; Count, HeadSeq
// and HeadHash describe the whole log as stored. An error is returned only
// if the walk itself fails. The checks are storecore.ChainCheck's, as in
// package sqlite.
func (db *DB) Verify(ctx context.Context) (credo.VerifyResult, error) {
	var res credo.VerifyResult
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return res, internal("Verify", err)
	}
	defer tx.Rollback(context.Background())
	return verifyTx(ctx, tx)
}

// verifyTx is Verify in tx.
func verifyTx(ctx context.Context, tx pgx.Tx) (credo.VerifyResult, error) {
	var res credo.VerifyResult
	var headSeq int64
	var headHash storecore.HashScan
	err := tx.QueryRow(ctx, "SELECT seq, hash FROM log_head WHERE id = 1").Scan(&headSeq, &headHash)
	haveHead := err == nil
	if err != nil && !isNoRows(err) {
		return res, internal("Verify", err)
	}

	rows, err := tx.Query(ctx, "SELECT seq, type, subject, body, prev_hash, hash FROM events ORDER BY seq")
	if err != nil {
		return res, internal("Verify", err)
	}
	defer rows.Close()
	var check storecore.ChainCheck
	for rows.Next() {
		var seq int64
		var typ, subject string
		var prev, hash storecore.HashScan
		var body []byte
		if err := rows.Scan(&seq, &typ, &subject, &body, &prev, &hash); err != nil {
			return res, internal("Verify", err)
		}
		check.Event(seq, typ, subject, body, prev.Hex, hash.Hex)
		if check.Count()%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return res, cancelled("Verify", err)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return res, internal("Verify", err)
	}
	return check.Result(haveHead, headSeq, headHash.Hex), nil
}
