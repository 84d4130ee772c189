package transparency

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"credo"
	"credo/internal/merkle"
)

// Scrubber re-verifies the whole log in the background, at a bounded
// rate: every event's body against the hash chain (its successor's
// prev_hash), the stored Merkle tree against the bodies, the tree's root
// against the latest signed checkpoint, and the subject index (the
// projection a subject's file and checks are read from) against the
// bodies. The first bad position found is a fault: /readyz answers 503
// with it until the process restarts. It finds the edits further back
// that the start check (which trusts the stored tree) cannot.
type Scrubber struct {
	store  credo.Store
	log    Log
	signer *Signer // nil: no checkpoint to compare with
	// Rate is the events per second the scrub reads (<= 0: no limit).
	Rate   float64
	logger *slog.Logger
	fault  atomic.Pointer[error]
	passes atomic.Int64
}

// NewScrubber returns a scrubber of st's log (signer may be nil).
func NewScrubber(st credo.Store, signer *Signer, rate float64, logger *slog.Logger) (*Scrubber, error) {
	l, ok := AsLog(st)
	if !ok {
		return nil, credo.Errorf(credo.EINVALID, "--scrub-interval: this store keeps no Merkle tree")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Scrubber{store: st, log: l, signer: signer, Rate: rate, logger: logger}, nil
}

// Fault is the first bad position found (nil: none).
func (s *Scrubber) Fault() error {
	if e := s.fault.Load(); e != nil {
		return *e
	}
	return nil
}

// Passes is the number of complete passes.
func (s *Scrubber) Passes() int64 { return s.passes.Load() }

// ScrubError is a bad position the scrub found.
type ScrubError struct {
	Position int64
	What     string
}

func (e *ScrubError) Error() string {
	return fmt.Sprintf("scrub: the log is damaged at event %d: %s", e.Position, e.What)
}

// Run scrubs the log every interval until ctx ends or a fault is found.
func (s *Scrubber) Run(ctx context.Context, interval time.Duration) {
	for {
		if err := s.Scrub(ctx); err != nil {
			if s.Fault() != nil {
				return
			}
			if ctx.Err() == nil {
				s.logger.Warn("scrub: the pass failed", "error", err.Error())
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// Scrub makes one pass over the log. A damaged log is a *ScrubError,
// also recorded as the fault.
func (s *Scrubber) Scrub(ctx context.Context) error {
	err := s.scrub(ctx)
	if se, ok := err.(*ScrubError); ok {
		s.fault.CompareAndSwap(nil, &err)
		s.logger.Error("scrub: the log is damaged: refusing to be ready", "position", se.Position, "error", se.Error())
		return err
	}
	if err == nil {
		s.passes.Add(1)
	}
	return err
}

func (s *Scrubber) scrub(ctx context.Context) error {
	ctx = merkle.Uncached(ctx) // what is stored, not what a cache read before
	head, _, err := s.log.Head(ctx)
	if err != nil {
		return err
	}
	var cp *Signed
	if s.signer != nil {
		cp = s.signer.Latest()
	}
	var mem merkle.Memory
	var bad *ScrubError
	report := func(pos int64, format string, args ...any) {
		if bad == nil || pos < bad.Position {
			bad = &ScrubError{Position: pos, What: fmt.Sprintf(format, args...)}
		}
	}
	const batch = 512
	prevHash := ""
	for after := int64(0); after < head && bad == nil; after += batch {
		upTo := min(after+batch, head)
		start := time.Now()
		var idxs []int64
		var want []tlog.Hash
		subjects := map[string][]int64{}
		bodySubject := map[int64]string{}
		next := after + 1
		err := s.log.EventBodies(ctx, after, upTo, func(seq int64, body []byte) error {
			if seq != next {
				report(next, "the event is missing")
				return errStop
			}
			next++
			var ev credo.Event
			if err := json.Unmarshal(body, &ev); err != nil {
				report(seq, "its body is not an event")
				return errStop
			}
			if ev.Seq != seq {
				report(seq, "its body says it is event %d", ev.Seq)
			}
			if ev.PrevHash != prevHash && seq > 1 {
				report(seq-1, "its body does not hash to the prev_hash event %d records", seq)
			}
			prevHash = credo.HashBytes(body)
			first, hs, err := mem.AddHash(tlog.RecordHash(body))
			if err != nil {
				return err
			}
			for i := 1; i < len(hs); i++ {
				idxs, want = append(idxs, first+int64(i)), append(want, hs[i])
			}
			if cp != nil && mem.Size() == cp.Size {
				if root, err := mem.Root(); err != nil || root != cp.Root {
					report(seq, "the first %d events do not hash to the root of the checkpoint signed of them", cp.Size)
				}
			}
			if ev.Subject != "" {
				subjects[ev.Subject] = append(subjects[ev.Subject], seq)
				bodySubject[seq] = ev.Subject
			}
			return nil
		})
		if err != nil && err != errStop {
			return err
		}
		if len(idxs) > 0 {
			stored, err := s.log.TreeHashes(ctx, idxs)
			for i := range idxs {
				if err != nil || stored[i] != want[i] {
					level, k := tlog.SplitStoredHashIndex(idxs[i])
					report(k<<uint(level)+1, "the stored Merkle tree over events %d..%d does not match their bodies", k<<uint(level)+1, (k+1)<<uint(level))
					break
				}
			}
		}
		// The subject index: every event of the batch is in its subject's
		// file, and a file holds no event of the batch about another
		// subject (links, which name a second subject, aside).
		for subject, seqs := range subjects {
			evs, err := s.store.SubjectEvents(ctx, subject)
			if err != nil {
				return err
			}
			have := map[int64]bool{}
			for _, e := range evs {
				have[e.Seq] = true
				if e.Seq > after && e.Seq <= upTo && bodySubject[e.Seq] != subject && e.Link == nil {
					report(e.Seq, "the subject index puts it in the file of %s, its body is about %q", subject, bodySubject[e.Seq])
				}
			}
			for _, seq := range seqs {
				if !have[seq] {
					report(seq, "it is missing from the file of its subject %s", subject)
				}
			}
		}
		if s.Rate > 0 {
			wait := time.Duration(float64(upTo-after)/s.Rate*float64(time.Second)) - time.Since(start)
			if wait > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(wait):
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if bad != nil {
		return bad
	}
	return nil
}

type stopErr struct{}

func (stopErr) Error() string { return "stop" }

var errStop error = stopErr{}
