package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"credo"
	"credo/internal/storecore"
)

var _ credo.FactsReader = (*DB)(nil)

// factRows returns the multi-row insert of the facts projection.
func (w *writer) factRows() *multiInsert {
	if w.facts == nil {
		w.facts = &multiInsert{w: w, cols: 3, head: "INSERT INTO facts (subject, seq, body) VALUES "}
	}
	return w.facts
}

// insertFacts writes an appended event's rows of the facts projection.
func (w *writer) insertFacts(ev *credo.Event) error {
	rows := storecore.FactRows(ev)
	if len(rows) == 0 {
		return nil
	}
	args := make([]any, 0, 3*len(rows))
	for _, f := range rows {
		args = append(args, f.Subject, f.Seq, f.Body)
	}
	return w.factRows().exec(args)
}

// backfillFacts writes the facts projection of a log that predates it
// (migration 0093 left a facts_backfill row): the events up to the row's
// upto, in one transaction that deletes the row.
func (w *writer) backfillFacts() (err error) {
	var upto int64
	err = w.conn.QueryRowContext(bg, "SELECT upto FROM facts_backfill WHERE id = 1").Scan(&upto)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return internal("Open", err)
	}
	if _, err := w.exec("BEGIN IMMEDIATE"); err != nil {
		return internal("Open", err)
	}
	defer func() {
		if err != nil {
			w.rollback()
		}
	}()
	// The bodies are read first (a statement of the writer's connection
	// cannot be open while it inserts).
	var bodies [][]byte
	var hashes []string
	flush := func() error {
		evs, err := storecore.DecodeEvents(bodies, hashes)
		if err != nil {
			return err
		}
		var args []any
		for i := range evs {
			for _, f := range storecore.FactRows(&evs[i]) {
				args = append(args, f.Subject, f.Seq, f.Body)
			}
		}
		bodies, hashes = bodies[:0], hashes[:0]
		return w.factRows().exec(args)
	}
	for after := int64(0); after < upto; {
		rows, err := w.conn.QueryContext(bg, "SELECT seq, body, hash FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT 20000", after, upto)
		if err != nil {
			return internal("Open", err)
		}
		n := 0
		for rows.Next() {
			var body []byte
			var hash storecore.HashScan
			if err := rows.Scan(&after, &body, &hash); err != nil {
				rows.Close()
				return internal("Open", err)
			}
			bodies, hashes = append(bodies, body), append(hashes, hash.Hex)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return internal("Open", err)
		}
		if n == 0 {
			break
		}
		if err := flush(); err != nil {
			return internal("Open", fmt.Errorf("writing the facts projection: %w", err))
		}
	}
	if _, err := w.exec("DELETE FROM facts_backfill"); err != nil {
		return internal("Open", err)
	}
	if _, err := w.exec("COMMIT"); err != nil {
		return internal("Open", err)
	}
	return nil
}

// FactSplits returns bounds that cut the facts into about n equal ranges
// (see credo.FactsReader).
func (db *DB) FactSplits(ctx context.Context, n int) ([]string, error) {
	out, err := storecore.FactSplits(ctx, connQuerier{db.rdb}, n)
	return out, internal("FactSplits", err)
}

// ScanFacts reads the facts projection in subject order, in one read
// snapshot (see credo.FactsReader).
func (db *DB) ScanFacts(ctx context.Context, from, to string, fn func(subject string, evs []credo.Event) error) error {
	return storecore.ScanFacts(ctx, connQuerier{db.rdb}, from, to, fn, func(err error) error {
		return internal("ScanFacts", err)
	})
}
