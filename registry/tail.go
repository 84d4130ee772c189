package registry

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"credo"
	"credo/engine"
)

// Tailing keeps a node's decision table current with the events other
// nodes write to the same log.
//
// The position is the sequence number up to which the table is known to
// reflect every event. A rebuild sets it to the log head it read before
// reading anything else (so the table reflects at least that much); the
// tailer then reads the log after the position, in order, refreshes the
// entries each event touches (the subject; both sides of a link; for an
// organisation, its linked persons), and only then advances the position
// to the last event it read. A policy publication rebuilds the table
// instead. Nothing is missed because the store commits events in sequence
// order (a transaction takes the log head before it takes a number), so
// once the tailer has read event n, every event before n is committed and
// was read before it: `Events(after, limit)` never skips one. Nothing is
// applied twice in a harmful way because a refresh recomputes an entry
// from the subject's facts as stored, which is idempotent; refreshes of
// one subject are serialised (engine.Table.Refresh) so that a slow one
// never overwrites a newer entry with older facts.
//
// A node's own writes refresh their entries at once, after they commit;
// the tailer skips those events when it reaches them (they are already
// reflected) unless the table was swapped in between, or the node reads
// from a replica that may not have had them yet.

// TailOptions configure Tail.
type TailOptions struct {
	// Interval is how often the log is polled (default 1 s). A store that
	// offers notifications (Notifier) wakes the tailer sooner.
	Interval time.Duration
	// Batch is the most events read at once (default 1000).
	Batch int
	// OnApply, if set, is called with each event's sequence number once
	// its effects are in the table, in log order.
	OnApply func(seq int64)
}

// Notifier is a store that can tell when events were appended (PostgreSQL
// LISTEN/NOTIFY): the channel receives a value after new events commit and
// is closed when the notification connection is lost.
type Notifier interface {
	Notify(ctx context.Context) (<-chan struct{}, error)
}

// TailStatus is how current a node's decision table is.
type TailStatus struct {
	// Running: Tail is running.
	Running bool `json:"running"`
	// Position is the sequence number up to which the table reflects
	// every event.
	Position int64 `json:"position"`
	// LastPoll is when the tailer last read the log successfully (zero:
	// never).
	LastPoll time.Time `json:"last_poll,omitzero"`
	// Applied counts the events the tailer has applied; Rebuilds the
	// rebuilds it did for policy publications; Errors its failed polls.
	Applied  int64 `json:"applied"`
	Rebuilds int64 `json:"rebuilds"`
	Errors   int64 `json:"errors"`
	// LastError is the last failure (empty after a successful poll).
	LastError string `json:"last_error,omitempty"`
}

// tailState is the registry's log position and the tailer's bookkeeping.
type tailState struct {
	mu       sync.Mutex // orders position updates against table swaps
	position atomic.Int64
	running  atomic.Bool
	lastPoll atomic.Int64 // Unix nanoseconds
	applied  atomic.Int64
	rebuilds atomic.Int64
	errors   atomic.Int64
	lastErr  atomic.Pointer[string]
	// own holds this node's writes whose entries were refreshed after
	// they committed, with the view refreshed; guarded by mu. Kept only
	// while the tailer runs.
	own map[int64]*view
}

// swap installs a new view and sets the position to the head it was
// built from: events after it may be missing from the new table even if
// the tailer had applied them to the old one, so they are applied again.
func (r *Registry) swap(v *view) {
	r.tail.mu.Lock()
	r.current.Store(v)
	r.tail.position.Store(v.head)
	clear(r.tail.own)
	r.tail.mu.Unlock()
}

// refreshedOwn notes that this node's events seqs have been reflected in
// view v's table by a refresh that read the store after they committed.
func (r *Registry) refreshedOwn(v *view, seqs []int64) {
	if !r.tail.running.Load() || v == nil || v.table == nil || r.readsReplica() {
		return
	}
	r.tail.mu.Lock()
	defer r.tail.mu.Unlock()
	if r.tail.own == nil || r.current.Load() != v {
		return
	}
	pos := r.tail.position.Load()
	for _, s := range seqs {
		if s > pos {
			r.tail.own[s] = v
		}
	}
}

// Position returns the sequence number up to which the decision table
// reflects every event of the log (it may reflect later ones too).
func (r *Registry) Position() int64 { return r.tail.position.Load() }

// TailStatus reports how current the decision table is.
func (r *Registry) TailStatus() TailStatus {
	st := TailStatus{Running: r.tail.running.Load(), Position: r.tail.position.Load(),
		Applied: r.tail.applied.Load(), Rebuilds: r.tail.rebuilds.Load(), Errors: r.tail.errors.Load()}
	if ns := r.tail.lastPoll.Load(); ns != 0 {
		st.LastPoll = time.Unix(0, ns)
	}
	if e := r.tail.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	return st
}

// Tail keeps the decision table current with the events appended to the
// log by any node, until ctx ends (it then returns nil). Only one Tail may
// run per registry. Failed reads are logged, counted and retried at the
// next interval; the position never advances past an event not applied.
func (r *Registry) Tail(ctx context.Context, opts TailOptions) error {
	if r.noTable {
		return credo.Errorf(credo.EINVALID, "a registry opened without a decision table has nothing to tail")
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	if !r.tail.running.CompareAndSwap(false, true) {
		return credo.Errorf(credo.ECONFLICT, "the registry is already tailing the log")
	}
	r.tail.mu.Lock()
	r.tail.own = map[int64]*view{}
	r.tail.mu.Unlock()
	defer func() {
		r.tail.mu.Lock()
		r.tail.own = nil
		r.tail.mu.Unlock()
		r.tail.running.Store(false)
	}()

	var wake <-chan struct{}
	warned := false // once an outage, not at every tick
	subscribe := func() {
		n, ok := r.readStore().(Notifier)
		if !ok || wake != nil {
			return
		}
		ch, err := n.Notify(ctx)
		if err != nil {
			if !warned {
				r.log.Warn("log notifications unavailable; polling only", "err", err)
			}
			warned = true
			return
		}
		wake, warned = ch, false
	}
	subscribe()
	tick := time.NewTicker(opts.Interval)
	defer tick.Stop()
	for {
		more, err := r.poll(ctx, &opts)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.tail.errors.Add(1)
			msg := err.Error()
			r.tail.lastErr.Store(&msg)
			r.log.Error("tailing the log", "position", r.Position(), "err", err)
		} else if more {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			subscribe() // after a lost notification connection
		case _, ok := <-wake:
			if !ok {
				wake = nil
			}
		}
	}
}

// CatchUp applies every event appended so far (one round of Tail, until
// the log is exhausted); for tools and tests that do not run Tail.
func (r *Registry) CatchUp(ctx context.Context) error {
	opts := TailOptions{Batch: 1000}
	for {
		more, err := r.poll(ctx, &opts)
		if err != nil || !more {
			return err
		}
	}
}

// poll reads the events after the position and applies them; more
// reports that there may be further events to read at once.
func (r *Registry) poll(ctx context.Context, opts *TailOptions) (more bool, err error) {
	r.tail.mu.Lock()
	v, pos := r.current.Load(), r.tail.position.Load()
	r.tail.mu.Unlock()
	evs, err := r.readStore().Events(ctx, pos, opts.Batch)
	if err != nil {
		return false, err
	}
	r.tail.lastPoll.Store(time.Now().UnixNano())
	r.tail.lastErr.Store(nil)
	if len(evs) == 0 {
		return false, nil
	}
	var subjects []string
	applied := make([]int64, 0, len(evs))
	next := pos
	for i := range evs {
		ev := &evs[i]
		if ev.Seq != next+1 {
			// The store commits in sequence order, so a gap is a broken
			// promise, never a reason to skip: apply what came before,
			// and retry from there.
			err = credo.Errorf(credo.EINTERNAL, "the log skips from seq %d to %d: not applying past the gap", next, ev.Seq)
			break
		}
		if ev.Type == credo.EventPolicyPublished {
			// Apply what came before, then rebuild under the new version.
			if ok, err := r.apply(ctx, v, pos, next, subjects, applied, opts); err != nil || !ok {
				return true, err
			}
			return true, r.rebuildAt(ctx, ev.Seq, opts)
		}
		next = ev.Seq
		applied = append(applied, ev.Seq)
		// An erasure (a sealed store's) refreshes its subject: the entry
		// goes, as the subject's key went.
		if r.ownRefreshed(v, ev.Seq) || !slices.Contains(engine.EventTypes, ev.Type) && ev.Type != credo.EventSubjectErased {
			continue
		}
		if ev.Subject != "" {
			subjects = append(subjects, ev.Subject)
		}
		if ev.Link != nil && ev.Link.Person != "" {
			subjects = append(subjects, ev.Link.Person)
		}
	}
	ok, aerr := r.apply(ctx, v, pos, next, subjects, applied, opts)
	if aerr != nil {
		return false, aerr
	}
	if err != nil {
		return false, err
	}
	return ok && len(evs) == opts.Batch, nil
}

// ownRefreshed reports (and forgets) whether event seq is one of this
// node's writes already refreshed in view v's table.
func (r *Registry) ownRefreshed(v *view, seq int64) bool {
	r.tail.mu.Lock()
	defer r.tail.mu.Unlock()
	ov, ok := r.tail.own[seq]
	if ok {
		delete(r.tail.own, seq)
	}
	return ok && ov == v
}

// apply refreshes the subjects of the events (from, to] read under view
// v, then advances the position to to — unless the table was swapped
// meanwhile (the swap set the position; the events are read again).
func (r *Registry) apply(ctx context.Context, v *view, from, to int64, subjects []string, seqs []int64, opts *TailOptions) (bool, error) {
	if to == from {
		return true, nil
	}
	if _, err := r.refresh(ctx, subjects...); err != nil {
		return false, fmt.Errorf("applying events %d to %d: %w", from+1, to, err)
	}
	r.tail.mu.Lock()
	defer r.tail.mu.Unlock()
	if r.current.Load() != v || r.tail.position.Load() != from {
		return false, nil
	}
	r.tail.position.Store(to)
	r.tail.applied.Add(int64(len(seqs)))
	if opts.OnApply != nil {
		for _, s := range seqs {
			opts.OnApply(s)
		}
	}
	return true, nil
}

// rebuildAt rebuilds the table for the policy publication at seq and sets
// the position to seq: the rebuild read the log after it, and the events
// that follow are applied again (idempotently) by the next poll, so that
// each is applied once in order.
func (r *Registry) rebuildAt(ctx context.Context, seq int64, opts *TailOptions) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.rebuildWith(ctx, rebuildIncremental); err != nil {
		return fmt.Errorf("rebuilding for the policy published at seq %d: %w", seq, err)
	}
	// The rebuild read the log after the tailer read event seq, so its
	// table reflects at least that far, whatever head it saw (a store may
	// cache its head per connection).
	r.tail.mu.Lock()
	defer r.tail.mu.Unlock()
	r.tail.position.Store(seq)
	r.tail.applied.Add(1)
	r.tail.rebuilds.Add(1)
	if opts.OnApply != nil {
		opts.OnApply(seq)
	}
	return nil
}
