package transparency

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"credo"
)

// Receipt proves, to anyone holding the log's public key, that events are
// in the log: a signed checkpoint and, for every event, its canonical
// body (exactly the bytes the tree's leaf is the hash of) and its
// inclusion proof in the checkpoint's tree. It verifies offline, years
// later, even if the registry is gone.
type Receipt struct {
	// Checkpoint is the signed note (C2SP tlog-checkpoint).
	Checkpoint string         `json:"checkpoint"`
	Events     []ReceiptEvent `json:"events"`
}

// ReceiptEvent is one event of a receipt.
type ReceiptEvent struct {
	Seq int64 `json:"seq"`
	// Event is the event's canonical encoding (whitespace outside strings
	// is insignificant: the verifier compacts it).
	Event json.RawMessage `json:"event"`
	// Proof is the inclusion proof of the event (leaf seq-1) in the
	// checkpoint's tree, as golang.org/x/mod/sumdb/tlog.RecordProof.
	Proof tlog.RecordProof `json:"proof"`
}

// BuildReceipt returns the receipt of events seqs (each at most cp's
// size) under the signed checkpoint cp.
func BuildReceipt(ctx context.Context, l Log, cp *Signed, seqs []int64) (*Receipt, error) {
	r := &Receipt{Checkpoint: string(cp.Note), Events: make([]ReceiptEvent, 0, len(seqs))}
	for _, seq := range seqs {
		if seq < 1 || seq > cp.Size {
			return nil, credo.Errorf(credo.EINTERNAL, "event %d is not under the checkpoint of %d events", seq, cp.Size)
		}
		var body []byte
		if err := l.EventBodies(ctx, seq-1, seq, func(_ int64, b []byte) error {
			body = bytes.Clone(b)
			return nil
		}); err != nil {
			return nil, err
		}
		if body == nil {
			return nil, credo.Errorf(credo.EINTERNAL, "event %d is missing", seq)
		}
		proof, err := Inclusion(ctx, l, seq, cp.Size)
		if err != nil {
			return nil, err
		}
		r.Events = append(r.Events, ReceiptEvent{Seq: seq, Event: body, Proof: proof})
	}
	return r, nil
}

// VerifiedReceipt is a receipt that verified: its checkpoint and events.
type VerifiedReceipt struct {
	Checkpoint *Signed
	Events     []credo.Event
}

// VerifyReceipt checks a receipt with the log's public key alone: the
// checkpoint's signature, and every event's inclusion in its tree (the
// leaf is the hash of the event's bytes, so altering any byte fails).
func VerifyReceipt(data []byte, v note.Verifier) (*VerifiedReceipt, error) {
	var r Receipt
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, credo.Errorf(credo.EINVALID, "receipt is not valid JSON: %v", err)
	}
	cp, err := OpenCheckpoint([]byte(r.Checkpoint), v)
	if err != nil {
		return nil, err
	}
	out := &VerifiedReceipt{Checkpoint: cp}
	for i, e := range r.Events {
		field := fmt.Sprintf("events[%d]", i)
		var body bytes.Buffer
		if err := json.Compact(&body, e.Event); err != nil {
			return nil, credo.FieldErrorf(field+".event", "is not JSON: %v", err)
		}
		var ev credo.Event
		if err := json.Unmarshal(body.Bytes(), &ev); err != nil {
			return nil, credo.FieldErrorf(field+".event", "is not an event: %v", err)
		}
		if ev.Seq != e.Seq {
			return nil, credo.FieldErrorf(field+".seq", "is %d, the event says %d", e.Seq, ev.Seq)
		}
		if e.Seq < 1 || e.Seq > cp.Size {
			return nil, credo.FieldErrorf(field+".seq", "%d is not under the checkpoint of %d events", e.Seq, cp.Size)
		}
		if err := tlog.CheckRecord(e.Proof, cp.Size, cp.Root, e.Seq-1, tlog.RecordHash(body.Bytes())); err != nil {
			return nil, credo.FieldErrorf(field, "event %d is not in the log under the checkpoint: %v", e.Seq, err)
		}
		ev.Hash = credo.HashBytes(body.Bytes())
		out.Events = append(out.Events, ev)
	}
	return out, nil
}
