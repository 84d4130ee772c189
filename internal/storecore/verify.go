package storecore

import (
	"fmt"

	"credo"
)

// ChainCheck is the check behind both stores' Verify: fed the events of
// the log in sequence order, as stored (the row's columns and its body),
// then the head the writer recorded, it finds the first event that fails.
// The sequence must be contiguous from 1, the stored hash the SHA-256 of
// the stored body, the body an event whose seq and type are the row's
// (the type column holds its name or its code, see TypeColumn), and whose
// subject and prev_hash are the row's where the row holds them (a compact
// row's subject and prev_hash columns are empty: the body's are the
// event's, see columns.go), and the body's prev_hash the hash of the
// event before; the end of the log must be the recorded head, which
// catches a log cut short at its end. Count, HeadSeq and HeadHash
// describe the whole log as stored.
type ChainCheck struct {
	// Legacy checks a log in encoding version 1 (JSON bodies), the one
	// credo migrate converts.
	Legacy   bool
	res      credo.VerifyResult
	prevSeq  int64
	prevHash string
}

func (c *ChainCheck) bad(seq int64, format string, args ...any) {
	if c.res.FirstBad == 0 {
		c.res.FirstBad = seq
		c.res.Problem = fmt.Sprintf("event %d: ", seq) + fmt.Sprintf(format, args...)
	}
}

// Count is the number of events fed so far.
func (c *ChainCheck) Count() int64 { return c.res.Count }

// Event checks the next stored event.
func (c *ChainCheck) Event(seq int64, typ, subject string, body []byte, prev, hash string) {
	c.res.Count++
	if c.res.FirstBad == 0 {
		c.check(seq, typ, subject, body, prev, hash)
	}
	c.prevSeq, c.prevHash = seq, hash
}

func (c *ChainCheck) check(seq int64, typ, subject string, body []byte, prev, hash string) {
	if seq != c.prevSeq+1 {
		c.bad(c.prevSeq+1, "missing (sequence jumps from %d to %d)", c.prevSeq, seq)
		return
	}
	if credo.HashBytes(body) != hash {
		c.bad(seq, "hash does not match its content")
		return
	}
	decode := credo.DecodeCanonical
	if c.Legacy {
		decode = LegacyEvent
	}
	ct, err := decode(body)
	switch {
	case err != nil:
		c.bad(seq, "content is not an event")
	case ct.Seq != seq:
		c.bad(seq, "content is event %d", ct.Seq)
	case !TypeColumnMatches(typ, ct.Type) || subject != "" && ct.Subject != subject:
		c.bad(seq, "content does not match its type and subject columns")
	case prev != "" && ct.PrevHash != prev:
		c.bad(seq, "content does not match its prev_hash column")
	case ct.PrevHash != c.prevHash && seq == 1:
		c.bad(seq, "prev_hash of the first event is not empty")
	case ct.PrevHash != c.prevHash:
		c.bad(seq, "prev_hash does not match event %d", c.prevSeq)
	}
}

// Result checks the end of the log against the recorded head (haveHead
// false: none is recorded) and returns the outcome.
func (c *ChainCheck) Result(haveHead bool, headSeq int64, headHash string) credo.VerifyResult {
	c.res.HeadSeq, c.res.HeadHash = c.prevSeq, c.prevHash
	if haveHead || c.prevSeq > 0 {
		switch {
		case headSeq > c.prevSeq:
			c.bad(c.prevSeq+1, "missing (the log ends at %d, its recorded head is %d)", c.prevSeq, headSeq)
		case headSeq < c.prevSeq:
			c.bad(headSeq+1, "not recorded (the log goes on to %d, its recorded head is %d)", c.prevSeq, headSeq)
		case headHash != c.prevHash:
			c.bad(headSeq, "hash does not match the recorded head")
		}
	}
	c.res.OK = c.res.FirstBad == 0
	return c.res
}

// HeadAgreement checks, before a writer appends, that the head it
// recorded (haveHead false: none is recorded) is the last event of the
// log (lastSeq 0: the log is empty). A log whose head and events disagree
// has been cut short or altered behind the store's back: appending to it
// would number new events from the wrong place and, by rewriting the
// head, erase the evidence that Verify reports. The writer refuses until
// an operator has looked (credo verify) and resolved it, typically by
// restoring a backup.
func HeadAgreement(op string, haveHead bool, headSeq int64, headHash string, lastSeq int64, lastHash string) error {
	if !haveHead {
		if lastSeq == 0 {
			return nil
		}
		headSeq, headHash = 0, ""
	}
	if headSeq == lastSeq && headHash == lastHash {
		return nil
	}
	var what string
	switch {
	case headSeq > lastSeq:
		what = fmt.Sprintf("the recorded head is event %d but the log ends at event %d: events are missing from its end", headSeq, lastSeq)
	case headSeq < lastSeq:
		what = fmt.Sprintf("the log goes on to event %d but its recorded head is event %d", lastSeq, headSeq)
	default:
		what = fmt.Sprintf("the hash of event %d is not the recorded head's", lastSeq)
	}
	return &credo.Error{Code: credo.EINTERNAL, Op: op, Message: "the event log has been altered behind the store's back (" + what +
		"); refusing to append until an operator resolves it: run `credo verify`, then restore a backup"}
}
