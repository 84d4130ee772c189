package sqlite

import (
	"database/sql"
	"errors"

	"credo/internal/storecore"
)

// headAgrees checks, inside the writer's transaction, that the recorded
// head row is the last event of the log (see storecore.HeadAgreement):
// the writer numbers new events from the last event, so without this a
// log cut short at its end would be appended to from the surviving
// maximum and the rewritten head would hide the cut.
func (w *writer) headAgrees() error {
	var headSeq int64
	var headHash storecore.HashScan
	err := w.queryRow("SELECT seq, hash FROM head WHERE id = 1").Scan(&headSeq, &headHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return storecore.HeadAgreement("sqlite.append", err == nil, headSeq, headHash.Hex, w.seq, w.hash)
}
