package postgres

import (
	"github.com/jackc/pgx/v5"

	"credo/internal/storecore"
)

// lastEvent is the last event of the log as the writer's transaction sees
// it, read in the round trip that locks the head.
type lastEvent struct {
	seq  int64
	hash string
}

// queueLastEvent queues the read of the last event.
func (w *writer) queueLastEvent(l *lastEvent) {
	w.queue("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").QueryRow(func(row pgx.Row) error {
		var h storecore.HashScan
		err := row.Scan(&l.seq, &h)
		l.hash = h.Hex
		if isNoRows(err) {
			l.seq, l.hash = 0, ""
			return nil
		}
		return err
	})
}

// agrees checks the locked head (w.seq, w.hash) against the last event
// (see storecore.HeadAgreement): appending after a log cut short at its
// end, or carried past its head, would hide the damage Verify reports.
func (l *lastEvent) agrees(w *writer) error {
	return storecore.HeadAgreement("postgres.append", true, w.seq, w.hash, l.seq, l.hash)
}
