package storecore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"credo"
)

// LegacyEvent decodes a body of encoding version 1: encoding/json of the
// event with the hash field empty. Only the conversion reads it.
func LegacyEvent(body []byte) (*credo.Event, error) {
	var ev credo.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("decoding event: %w", err)
	}
	if ev.Hash != "" {
		return nil, errors.New("decoding event: its hash field is set")
	}
	return &ev, nil
}

// Converter re-encodes a log of encoding version 1, event by event in
// sequence order, into a new chain (credo migrate). Both stores convert
// through it, so the same log converts to the same bytes.
type Converter struct {
	// Hook, if set, may change an event before it is re-encoded (the
	// registry turns notices into their facts where their texts render
	// again byte for byte); it reports whether it did.
	Hook func(ev *credo.Event) (bool, error)

	prev    string // hash of the last event re-encoded
	lastSeq int64
	hooked  int64
}

// Prev is the hash of the last event re-encoded ("" before the first).
func (c *Converter) Prev() string { return c.prev }

// Event re-encodes the next event of the old log (its body) and returns
// its new body and hash.
func (c *Converter) Event(seq int64, old []byte) (body []byte, hash string, err error) {
	if seq != c.lastSeq+1 {
		return nil, "", fmt.Errorf("event %d: expected event %d", seq, c.lastSeq+1)
	}
	ev, err := LegacyEvent(old)
	if err != nil {
		return nil, "", fmt.Errorf("event %d: %w", seq, err)
	}
	if ev.Seq != seq {
		return nil, "", fmt.Errorf("event %d: its body is event %d", seq, ev.Seq)
	}
	if c.Hook != nil {
		changed, err := c.Hook(ev)
		if err != nil {
			return nil, "", fmt.Errorf("event %d: %w", seq, err)
		}
		if changed {
			c.hooked++
		}
	}
	ev.PrevHash = c.prev
	body, err = credo.CanonicalEncoding(ev)
	if err != nil {
		return nil, "", fmt.Errorf("event %d: %w", seq, err)
	}
	c.prev, c.lastSeq = credo.HashBytes(body), seq
	return body, c.prev, nil
}

// Migrated returns the log.migrated event that ends the new chain, sealed
// after the last event re-encoded, with its body; oldHash is the hash of
// the old log's last event.
func (c *Converter) Migrated(oldHash string, now time.Time) (*credo.Event, []byte, error) {
	ev := &credo.Event{Type: credo.EventLogMigrated, Actor: "credo migrate", Migration: &credo.LogMigration{
		FromEncoding: 1, ToEncoding: credo.EncodingVersion, OldHeadSeq: c.lastSeq, OldHeadHash: oldHash,
		NewHeadHash: c.prev, NoticesAsFacts: c.hooked}}
	body, err := Seal(ev, c.lastSeq+1, c.prev, now.UTC().Truncate(time.Microsecond))
	return ev, body, err
}

// CheckLegacyChain verifies the old chain of a log of encoding version 1
// (JSON bodies, hex text hash columns) as both stores read it for
// ConvertFormat: query selects seq, type, subject, body, prev_hash and
// hash of every event in order; the head is as the store read it. The
// driver's errors are returned for the caller to wrap.
func CheckLegacyChain(ctx context.Context, q Querier, query string, haveHead bool, headSeq int64, headHash string) (credo.VerifyResult, error) {
	rows, err := q.Query(ctx, query)
	if err != nil {
		return credo.VerifyResult{}, err
	}
	defer rows.Close()
	check := ChainCheck{Legacy: true}
	for rows.Next() {
		var seq int64
		var typ, subject, prev, hash string
		var body []byte
		if err := rows.Scan(&seq, &typ, &subject, &body, &prev, &hash); err != nil {
			return credo.VerifyResult{}, fmt.Errorf("event %d: %w", seq, err)
		}
		check.Event(seq, typ, subject, body, prev, hash)
	}
	if err := rows.Err(); err != nil {
		return credo.VerifyResult{}, err
	}
	return check.Result(haveHead, headSeq, headHash), nil
}
