package storecore

import (
	"time"

	"credo"
)

// Seal makes ev event seq of the chain, after the event whose hash is
// prev: it sets Seq, Recorded (now, unless set), PrevHash, the ids a
// dispute or repair application takes from its event and a policy's
// publication time, then encodes the event canonically and sets its Hash.
// It returns the body to store. Both stores seal events here, so the same
// calls give byte-identical chains.
func Seal(ev *credo.Event, seq int64, prev string, now time.Time) ([]byte, error) {
	ev.Seq = seq
	if ev.Recorded.IsZero() {
		ev.Recorded = now
	}
	ev.PrevHash = prev
	switch ev.Type {
	case credo.EventDisputeOpened:
		ev.Dispute.ID = ev.Seq
	case credo.EventRepairApplied:
		ev.Repair.ID = ev.Seq
	case credo.EventPolicyPublished:
		if ev.Policy.Published.IsZero() {
			ev.Policy.Published = ev.Recorded
		}
	}
	body, err := credo.CanonicalEncoding(ev)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "event cannot be encoded: %v", err)
	}
	ev.Hash = credo.HashBytes(body)
	return body, nil
}
