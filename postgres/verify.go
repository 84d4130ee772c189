package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"credo"
)

// Verify re-walks the log in sequence order, in one read-only snapshot
// (REPEATABLE READ), and checks every event: the sequence is contiguous
// from 1, the stored hash is the SHA-256 of the stored body, the body
// decodes to an event whose seq, type, subject and prev_hash are the
// row's, and prev_hash is the hash of the event before. Finally the end of
// the log must be the head recorded in log_head, which catches a log cut
// short at its end. It reports the first event that fails; Count, HeadSeq
// and HeadHash describe the whole log as stored. An error is returned only
// if the walk itself fails. The checks are those of package sqlite.
func (db *DB) Verify(ctx context.Context) (credo.VerifyResult, error) {
	var res credo.VerifyResult
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return res, internal("Verify", err)
	}
	defer tx.Rollback(context.Background())

	var headSeq int64
	var headHash string
	err = tx.QueryRow(ctx, "SELECT seq, hash FROM log_head WHERE id = 1").Scan(&headSeq, &headHash)
	haveHead := err == nil
	if err != nil && !isNoRows(err) {
		return res, internal("Verify", err)
	}

	rows, err := tx.Query(ctx, "SELECT seq, type, subject, body, prev_hash, hash FROM events ORDER BY seq")
	if err != nil {
		return res, internal("Verify", err)
	}
	defer rows.Close()
	bad := func(seq int64, format string, args ...any) {
		if res.FirstBad == 0 {
			res.FirstBad = seq
			res.Problem = fmt.Sprintf("event %d: ", seq) + fmt.Sprintf(format, args...)
		}
	}
	var (
		prevSeq  int64
		prevHash string
		content  struct {
			Seq      int64           `json:"seq"`
			Type     credo.EventType `json:"type"`
			Subject  string          `json:"subject"`
			PrevHash string          `json:"prev_hash"`
			Hash     string          `json:"hash"`
		}
	)
	for rows.Next() {
		var seq int64
		var typ, subject, prev, hash string
		var body []byte
		if err := rows.Scan(&seq, &typ, &subject, &body, &prev, &hash); err != nil {
			return res, internal("Verify", err)
		}
		res.Count++
		if res.Count%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return res, cancelled("Verify", err)
			}
		}
		if res.FirstBad == 0 {
			content.Seq, content.Type, content.Subject, content.PrevHash, content.Hash = 0, "", "", "", ""
			switch {
			case seq != prevSeq+1:
				bad(prevSeq+1, "missing (sequence jumps from %d to %d)", prevSeq, seq)
			case credo.HashBytes(body) != hash:
				bad(seq, "hash does not match its content")
			case json.Unmarshal(body, &content) != nil:
				bad(seq, "content is not an event")
			case content.Seq != seq:
				bad(seq, "content is event %d", content.Seq)
			case string(content.Type) != typ || content.Subject != subject:
				bad(seq, "content does not match its type and subject columns")
			case content.PrevHash != prev || content.Hash != "":
				bad(seq, "content does not match its prev_hash column")
			case prev != prevHash && seq == 1:
				bad(seq, "prev_hash of the first event is not empty")
			case prev != prevHash:
				bad(seq, "prev_hash does not match event %d", prevSeq)
			}
		}
		prevSeq, prevHash = seq, hash
	}
	if err := rows.Err(); err != nil {
		return res, internal("Verify", err)
	}
	res.HeadSeq, res.HeadHash = prevSeq, prevHash
	if haveHead || prevSeq > 0 {
		switch {
		case headSeq > prevSeq:
			bad(prevSeq+1, "missing (the log ends at %d, its recorded head is %d)", prevSeq, headSeq)
		case headSeq < prevSeq:
			bad(headSeq+1, "not recorded (the log goes on to %d, its recorded head is %d)", prevSeq, headSeq)
		case headHash != prevHash:
			bad(headSeq, "hash does not match the recorded head")
		}
	}
	res.OK = res.FirstBad == 0
	return res, nil
}
