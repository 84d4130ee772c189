package transparency

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

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
	// Policies are the policy.published events of the policy versions in
	// force over the file (from its first event to the checkpoint), each
	// with its inclusion proof: which rules applied to the subject, when.
	Policies []ReceiptEvent `json:"policies,omitempty"`
}

// ReceiptEvent is one event of a receipt.
type ReceiptEvent struct {
	Seq int64 `json:"seq"`
	// Body is the event's canonical encoding (credo.CanonicalEncoding,
	// base64 in JSON): the bytes the tree's leaf is the hash of.
	Body []byte `json:"body"`
	// Event is the event the body encodes, as the API shows it (JSON),
	// for reading; the verifier checks that it is exactly that
	// (whitespace outside strings is insignificant).
	Event json.RawMessage `json:"event,omitempty"`
	// Proof is the inclusion proof of the event (leaf seq-1) in the
	// checkpoint's tree, as golang.org/x/mod/sumdb/tlog.RecordProof.
	Proof tlog.RecordProof `json:"proof"`
}

// BuildReceipt returns the receipt of events seqs (each at most cp's
// size) under the signed checkpoint cp.
func BuildReceipt(ctx context.Context, l Log, cp *Signed, seqs []int64) (*Receipt, error) {
	r := &Receipt{Checkpoint: string(cp.Note)}
	var err error
	r.Events, err = receiptEvents(ctx, l, cp, seqs)
	return r, err
}

// PolicyLog is a store that can list its policy.published events.
type PolicyLog interface {
	PolicySeqs(ctx context.Context) ([]int64, error)
}

// AddPolicies adds to r the policy.published events of the versions in
// force at some time from since to the checkpoint: the last version
// effective at since, and every version effective after it.
func AddPolicies(ctx context.Context, l Log, pl PolicyLog, cp *Signed, r *Receipt, since time.Time) error {
	seqs, err := pl.PolicySeqs(ctx)
	if err != nil {
		return err
	}
	type version struct {
		seq       int64
		effective time.Time
	}
	var vs []version
	for _, seq := range seqs {
		if seq > cp.Size {
			continue
		}
		if err := l.EventBodies(ctx, seq-1, seq, func(_ int64, b []byte) error {
			ev, err := credo.DecodeCanonical(b)
			if err != nil || ev.Policy == nil {
				return credo.Errorf(credo.EINTERNAL, "event %d is not a policy publication", seq)
			}
			vs = append(vs, version{seq, ev.Policy.Effective})
			return nil
		}); err != nil {
			return err
		}
	}
	var pick []int64
	var before *version // the version in force at since
	for i := range vs {
		if vs[i].effective.After(since) {
			pick = append(pick, vs[i].seq)
		} else if before == nil || !vs[i].effective.Before(before.effective) {
			before = &vs[i]
		}
	}
	if before != nil {
		pick = append([]int64{before.seq}, pick...)
		slices.Sort(pick)
	}
	r.Policies, err = receiptEvents(ctx, l, cp, pick)
	return err
}

func receiptEvents(ctx context.Context, l Log, cp *Signed, seqs []int64) ([]ReceiptEvent, error) {
	out := make([]ReceiptEvent, 0, len(seqs))
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
		ev, err := credo.DecodeCanonical(body)
		if err != nil {
			return nil, credo.Errorf(credo.EINTERNAL, "event %d: %v", seq, err)
		}
		ev.Hash = credo.HashBytes(body)
		js, err := json.Marshal(ev)
		if err != nil {
			return nil, credo.Errorf(credo.EINTERNAL, "event %d: %v", seq, err)
		}
		out = append(out, ReceiptEvent{Seq: seq, Body: body, Event: js, Proof: proof})
	}
	return out, nil
}

// VerifiedReceipt is a receipt that verified: its checkpoint and events.
type VerifiedReceipt struct {
	Checkpoint *Signed
	Events     []credo.Event
	// Policies are the policy.published events the receipt proves.
	Policies []credo.Event
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
	if out.Events, err = verifyEvents(cp, "events", r.Events); err != nil {
		return nil, err
	}
	if out.Policies, err = verifyEvents(cp, "policies", r.Policies); err != nil {
		return nil, err
	}
	for i, ev := range out.Policies {
		if ev.Type != credo.EventPolicyPublished || ev.Policy == nil {
			return nil, credo.FieldErrorf(fmt.Sprintf("policies[%d]", i), "event %d is a %s, not a policy publication", ev.Seq, ev.Type)
		}
	}
	return out, nil
}

func verifyEvents(cp *Signed, name string, evs []ReceiptEvent) ([]credo.Event, error) {
	var out []credo.Event
	for i, e := range evs {
		field := fmt.Sprintf("%s[%d]", name, i)
		ev, err := credo.DecodeCanonical(e.Body)
		if err != nil {
			return nil, credo.FieldErrorf(field+".body", "is not an event: %v", err)
		}
		ev.Hash = credo.HashBytes(e.Body)
		if len(e.Event) > 0 {
			var given, want bytes.Buffer
			js, err := json.Marshal(ev)
			if err != nil {
				return nil, credo.FieldErrorf(field+".body", "is not an event: %v", err)
			}
			json.Compact(&want, js)
			if err := json.Compact(&given, e.Event); err != nil {
				return nil, credo.FieldErrorf(field+".event", "is not JSON: %v", err)
			}
			if !bytes.Equal(given.Bytes(), want.Bytes()) {
				return nil, credo.FieldErrorf(field+".event", "is not the event its body encodes")
			}
		}
		if ev.Seq != e.Seq {
			return nil, credo.FieldErrorf(field+".seq", "is %d, the event says %d", e.Seq, ev.Seq)
		}
		if e.Seq < 1 || e.Seq > cp.Size {
			return nil, credo.FieldErrorf(field+".seq", "%d is not under the checkpoint of %d events", e.Seq, cp.Size)
		}
		if err := tlog.CheckRecord(e.Proof, cp.Size, cp.Root, e.Seq-1, tlog.RecordHash(e.Body)); err != nil {
			return nil, credo.FieldErrorf(field, "event %d is not in the log under the checkpoint: %v", e.Seq, err)
		}
		out = append(out, *ev)
	}
	return out, nil
}
