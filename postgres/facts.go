package postgres

import (
	"context"
	"fmt"

	"credo"
	"credo/internal/storecore"
)

var _ credo.FactsReader = (*DB)(nil)

// queueFacts queues the facts projection's rows of a batch of records.
func (w *writer) queueFacts(rs []*credo.Record) {
	subs := make([]string, len(rs))
	seqs := make([]int64, len(rs))
	bodies := make([][]byte, len(rs))
	for i, r := range rs {
		subs[i], seqs[i], bodies[i] = r.Subject, r.ID, storecore.RecordFact(nil, r)
	}
	w.queueFactRows(subs, seqs, bodies)
}

func (w *writer) queueFactRows(subs []string, seqs []int64, bodies [][]byte) {
	if len(subs) == 0 {
		return
	}
	w.queue(`INSERT INTO facts (subject, seq, body) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])`, subs, seqs, bodies)
}

// queueEventFacts queues an appended event's rows of the facts projection.
func (w *writer) queueEventFacts(ev *credo.Event) {
	for _, f := range storecore.FactRows(ev) {
		w.queue("INSERT INTO facts (subject, seq, body) VALUES ($1, $2, $3)", f.Subject, f.Seq, f.Body)
	}
}

// backfillFacts writes the facts projection of a log that predates it
// (migration 0093 left a facts_backfill row), in one transaction that
// deletes the row.
func (db *DB) backfillFacts(ctx context.Context) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return internal("Open", err)
	}
	defer tx.Rollback(context.Background())
	var upto int64
	err = tx.QueryRow(ctx, "SELECT upto FROM facts_backfill WHERE id = 1 FOR UPDATE").Scan(&upto)
	if isNoRows(err) {
		return nil
	}
	if err != nil {
		return internal("Open", err)
	}
	for after := int64(0); after < upto; {
		rows, err := tx.Query(ctx, "SELECT seq, body, hash FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT 20000", after, upto)
		if err != nil {
			return internal("Open", err)
		}
		var bodies [][]byte
		var hashes []string
		for rows.Next() {
			var body []byte
			var hash storecore.HashScan
			if err := rows.Scan(&after, &body, &hash); err != nil {
				rows.Close()
				return internal("Open", err)
			}
			bodies, hashes = append(bodies, body), append(hashes, hash.Hex)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return internal("Open", err)
		}
		if len(bodies) == 0 {
			break
		}
		evs, err := storecore.DecodeEvents(bodies, hashes)
		if err != nil {
			return internal("Open", fmt.Errorf("writing the facts projection: %w", err))
		}
		var subs []string
		var seqs []int64
		var fb [][]byte
		for i := range evs {
			for _, f := range storecore.FactRows(&evs[i]) {
				subs, seqs, fb = append(subs, f.Subject), append(seqs, f.Seq), append(fb, f.Body)
			}
		}
		if len(subs) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO facts (subject, seq, body) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])`, subs, seqs, fb); err != nil {
				return internal("Open", err)
			}
		}
	}
	if _, err := tx.Exec(ctx, "DELETE FROM facts_backfill"); err != nil {
		return internal("Open", err)
	}
	return internal("Open", tx.Commit(ctx))
}

// FactSplits returns bounds that cut the facts into about n equal ranges
// (see credo.FactsReader).
func (db *DB) FactSplits(ctx context.Context, n int) ([]string, error) {
	out, err := storecore.FactSplits(ctx, pgQuerier{db.pool}, n)
	return out, internal("FactSplits", err)
}

// ScanFacts reads the facts projection in subject order, in one snapshot
// (see credo.FactsReader).
func (db *DB) ScanFacts(ctx context.Context, from, to string, fn func(subject string, evs []credo.Event) error) error {
	return storecore.ScanFacts(ctx, pgQuerier{db.pool}, from, to, fn, func(err error) error {
		return internal("ScanFacts", err)
	})
}
