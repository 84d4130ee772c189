package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"credo"
	"credo/internal/storecore"
)

// Verify re-walks the log in sequence order, in one read snapshot, and
// checks every event: the sequence is contiguous from 1, the stored hash is
// the SHA-256 of the stored body, the body decodes to an event whose seq
// and type are the row's, and whose subject and prev_hash are the row's
// where the row holds them (a row written since the compact rows holds
// neither: see writer.go), and the body's prev_hash is the hash of the
// event before. Finally the end of the log must be the head the writer
// recorded, which catches a log cut short at its end. It reports the first
// event that fails; Count, HeadSeq and HeadHash describe the whole log as
// stored. An error is returned only if the walk itself fails. The checks
// are storecore.ChainCheck's, as in package postgres.
func (db *DB) Verify(ctx context.Context) (credo.VerifyResult, error) {
	var res credo.VerifyResult
	conn, err := db.rdb.Conn(ctx)
	if err != nil {
		return res, internal("Verify", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return res, internal("Verify", err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	return verifyConn(ctx, conn)
}

// verifyConn is Verify in conn's open transaction.
func verifyConn(ctx context.Context, conn *sql.Conn) (credo.VerifyResult, error) {
	var res credo.VerifyResult
	var headSeq int64
	var headHash storecore.HashScan
	err := conn.QueryRowContext(ctx, "SELECT seq, hash FROM head WHERE id = 1").Scan(&headSeq, &headHash)
	haveHead := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return res, internal("Verify", err)
	}

	rows, err := conn.QueryContext(ctx, "SELECT seq, type, subject, body, prev_hash, hash FROM events ORDER BY seq")
	if err != nil {
		return res, internal("Verify", err)
	}
	defer rows.Close()
	var check storecore.ChainCheck
	var body []byte
	for rows.Next() {
		var seq int64
		var typ, subject string
		var prev, hash storecore.HashScan
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
