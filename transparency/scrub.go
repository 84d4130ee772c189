package transparency

import (
	"context"
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
	p := &scrubPass{s: s}
	if s.signer != nil {
		p.cp = s.signer.Latest()
	}
	const batch = 512
	for after := int64(0); after < head && p.bad == nil; after += batch {
		upTo := min(after+batch, head)
		start := time.Now()
		b, err := p.bodies(ctx, after, upTo)
		if err != nil {
			return err
		}
		p.checkTree(ctx, b)
		if err := p.checkSubjects(ctx, b); err != nil {
			return err
		}
		if err := s.pace(ctx, upTo-after, start); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if p.bad != nil {
		return p.bad
	}
	return nil
}

// scrubPass is one pass of the scrubber over the log: the tree rebuilt
// from the bodies so far, the last body's hash, and the first problem
// found.
type scrubPass struct {
	s        *Scrubber
	cp       *Signed
	mem      merkle.Memory
	bad      *ScrubError
	prevHash string
}

// scrubBatch is what a batch of bodies says: the tree hashes they imply
// (stored index, hash) and the events of each subject.
type scrubBatch struct {
	after, upTo int64
	idxs        []int64
	want        []tlog.Hash
	subjects    map[string][]int64
	bodySubject map[int64]string
}

// report keeps the earliest problem.
func (p *scrubPass) report(pos int64, format string, args ...any) {
	if p.bad == nil || pos < p.bad.Position {
		p.bad = &ScrubError{Position: pos, What: fmt.Sprintf(format, args...)}
	}
}

// bodies reads events after..upTo: each present, an event, numbered as
// stored, chained by prev_hash, and, at the signed checkpoint's size,
// hashing to its root.
func (p *scrubPass) bodies(ctx context.Context, after, upTo int64) (*scrubBatch, error) {
	b := &scrubBatch{after: after, upTo: upTo, subjects: map[string][]int64{}, bodySubject: map[int64]string{}}
	next := after + 1
	err := p.s.log.EventBodies(ctx, after, upTo, func(seq int64, body []byte) error {
		if seq != next {
			p.report(next, "the event is missing")
			return errStop
		}
		next++
		ev, err := credo.DecodeCanonical(body)
		if err != nil {
			p.report(seq, "its body is not an event")
			return errStop
		}
		if ev.Seq != seq {
			p.report(seq, "its body says it is event %d", ev.Seq)
		}
		if ev.PrevHash != p.prevHash && seq > 1 {
			p.report(seq-1, "its body does not hash to the prev_hash event %d records", seq)
		}
		p.prevHash = credo.HashBytes(body)
		first, hs, err := p.mem.AddHash(tlog.RecordHash(body))
		if err != nil {
			return err
		}
		for i := 1; i < len(hs); i++ {
			b.idxs, b.want = append(b.idxs, first+int64(i)), append(b.want, hs[i])
		}
		if cp := p.cp; cp != nil && p.mem.Size() == cp.Size {
			if root, err := p.mem.Root(); err != nil || root != cp.Root {
				p.report(seq, "the first %d events do not hash to the root of the checkpoint signed of them", cp.Size)
			}
		}
		if ev.Subject != "" {
			b.subjects[ev.Subject] = append(b.subjects[ev.Subject], seq)
			b.bodySubject[seq] = ev.Subject
		}
		return nil
	})
	if err != nil && err != errStop {
		return nil, err
	}
	return b, nil
}

// checkTree compares the stored Merkle tree with the hashes the bodies
// imply.
func (p *scrubPass) checkTree(ctx context.Context, b *scrubBatch) {
	if len(b.idxs) == 0 {
		return
	}
	stored, err := p.s.log.TreeHashes(ctx, b.idxs)
	for i := range b.idxs {
		if err != nil || stored[i] != b.want[i] {
			level, k := tlog.SplitStoredHashIndex(b.idxs[i])
			lo, hi := k<<uint(level)+1, (k+1)<<uint(level)
			if p.bad != nil && lo <= p.bad.Position && p.bad.Position <= hi {
				return // the bodies already named the event under the node
			}
			p.report(lo, "the stored Merkle tree over events %d..%d does not match their bodies", lo, hi)
			return
		}
	}
}

// checkSubjects checks the subject index: every event of the batch is in
// its subject's file, and a file holds no event of the batch about
// another subject (links, which name a second subject, aside).
func (p *scrubPass) checkSubjects(ctx context.Context, b *scrubBatch) error {
	for subject, seqs := range b.subjects {
		evs, err := p.s.store.SubjectEvents(ctx, subject)
		if err != nil {
			return err
		}
		have := map[int64]bool{}
		for _, e := range evs {
			have[e.Seq] = true
			if e.Seq > b.after && e.Seq <= b.upTo && b.bodySubject[e.Seq] != subject && e.Link == nil {
				p.report(e.Seq, "the subject index puts it in the file of %s, its body is about %q", subject, b.bodySubject[e.Seq])
			}
		}
		for _, seq := range seqs {
			if !have[seq] {
				p.report(seq, "it is missing from the file of its subject %s", subject)
			}
		}
	}
	return nil
}

// pace waits so that n events read since start keep to s.Rate.
func (s *Scrubber) pace(ctx context.Context, n int64, start time.Time) error {
	if s.Rate <= 0 {
		return nil
	}
	wait := time.Duration(float64(n)/s.Rate*float64(time.Second)) - time.Since(start)
	if wait > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return nil
}

type stopErr struct{}

func (stopErr) Error() string { return "stop" }

var errStop error = stopErr{}
