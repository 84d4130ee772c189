package registry

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"credo"
)

// checkBatcher writes checks to the check log by group commit: a check is
// queued, and the writer writes everything queued in one transaction (one
// sync), while the checks queued meanwhile form the next group. Under load
// a group carries hundreds of checks; idle, a check waits for one commit.
//
// Durable (the default): a check is answered only once the write of its
// group has returned, so an answered check is on stable storage and
// survives a crash of the process or the machine (GET /v1/checks/{id},
// the citizen's "who checked me"). A failed write fails its group: none
// of its checks is answered (503), so none is lost, and the check log is
// reported failing (/readyz) until a write succeeds.
//
// Async (ChecksOptions.Async, an explicit opt-out): a check is answered
// as soon as it is queued and written within Interval; a failed write is
// retried until it succeeds, but a crash loses the checks queued (up to
// Buffer).
//
// Either way no check is dropped while the process lives: when the queue
// is full the caller waits for room (backpressure), and closing writes
// everything queued.
type checkBatcher struct {
	log      credo.CheckLog
	logger   *slog.Logger
	onWrite  func(n int, took time.Duration, err error) // each write's outcome (metrics, health)
	durable  bool
	buffer   int // the most entries queued
	batch    int // async: queued entries that trigger a write
	interval time.Duration

	mu      sync.Mutex
	closed  bool
	pending []credo.CheckEntry // queued, not yet being written
	spare   []credo.CheckEntry // the buffer of the last write, reused
	group   *commitGroup       // the group the pending entries belong to
	writing *commitGroup       // the group being written (nil: none)
	room    chan struct{}      // closed when pending is taken: senders waiting for room retry

	wake     chan struct{} // something to write (capacity 1)
	stop     chan struct{} // closed when the closing deadline passes: stop retrying
	stopOnce sync.Once
	done     chan struct{}

	lost atomic.Int64 // async: entries abandoned because Close's deadline passed
}

// commitGroup is the checks one write carries. Its waiters learn together
// whether the write succeeded: done is closed once err is set.
type commitGroup struct {
	done chan struct{}
	err  error
}

func newCommitGroup() *commitGroup { return &commitGroup{done: make(chan struct{})} }

func newCheckBatcher(log credo.CheckLog, logger *slog.Logger, onWrite func(int, time.Duration, error), durable bool, buffer, batch int, interval time.Duration) *checkBatcher {
	if onWrite == nil {
		onWrite = func(int, time.Duration, error) {}
	}
	b := &checkBatcher{log: log, logger: logger, onWrite: onWrite, durable: durable, buffer: buffer, batch: batch, interval: interval,
		group: newCommitGroup(), room: make(chan struct{}), wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

// errClosed is returned for checks logged after the check log closed
// (the server is shutting down).
var errClosed = credo.Errorf(credo.EUNAVAILABLE, "the server is shutting down")

// add queues an entry, waiting while the queue is full, and returns the
// group it will be written with. A check must not be answered unless it
// will be logged: an error means do not answer; and when durable, answer
// only once wait on the group returns nil.
func (b *checkBatcher) add(ctx context.Context, e credo.CheckEntry) (*commitGroup, error) {
	b.mu.Lock()
	for len(b.pending) >= b.buffer {
		if b.closed {
			b.mu.Unlock()
			return nil, errClosed
		}
		room := b.room
		b.mu.Unlock()
		b.signal()
		select {
		case <-room:
		case <-ctx.Done():
			return nil, &credo.Error{Code: credo.EUNAVAILABLE, Message: "the check log is falling behind; try again", Err: ctx.Err()}
		}
		b.mu.Lock()
	}
	if b.closed {
		b.mu.Unlock()
		return nil, errClosed
	}
	b.pending = append(b.pending, e)
	g, n := b.group, len(b.pending)
	b.mu.Unlock()
	if b.durable || n >= b.batch {
		b.signal()
	}
	return g, nil
}

// signal wakes the writer.
func (b *checkBatcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// wait returns once the group is written (durable; at once otherwise):
// nil if its checks are on stable storage and may be answered.
func (b *checkBatcher) wait(ctx context.Context, g *commitGroup) error {
	if !b.durable || g == nil {
		return nil
	}
	select {
	case <-g.done:
		return g.err
	case <-ctx.Done():
		return &credo.Error{Code: credo.EUNAVAILABLE, Message: "the check was not answered: its log entry was not confirmed in time", Err: ctx.Err()}
	}
}

// depth returns the number of entries waiting.
func (b *checkBatcher) depth() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// flush waits until every entry queued before the call is written (or its
// write has failed: durable, those checks were not answered).
func (b *checkBatcher) flush(ctx context.Context) error {
	b.mu.Lock()
	g := b.writing
	if len(b.pending) > 0 {
		g = b.group
	}
	b.mu.Unlock()
	if g == nil {
		return nil
	}
	b.signal()
	select {
	case <-g.done:
		return nil
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops accepting entries and writes every queued one. If ctx ends
// first the batcher stops retrying and close reports how many answered
// entries were not written (they are logged as lost).
func (b *checkBatcher) close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.room) // senders waiting for room give up
		b.room = make(chan struct{})
	}
	b.mu.Unlock()
	b.signal()
	select {
	case <-b.done:
	case <-ctx.Done():
		b.stopOnce.Do(func() { close(b.stop) })
		<-b.done
	}
	if n := b.lost.Load(); n > 0 {
		return credo.Errorf(credo.EINTERNAL, "%d checks could not be written to the check log before the shutdown deadline", n)
	}
	return nil
}

func (b *checkBatcher) run() {
	defer close(b.done)
	var tick <-chan time.Time
	if !b.durable {
		t := time.NewTicker(b.interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		timed := false
		select {
		case <-b.wake:
		case <-tick:
			timed = true
		}
		for {
			b.mu.Lock()
			closed := b.closed
			// Async, a write waits for a full batch, the interval or the close.
			if len(b.pending) == 0 || !b.durable && !closed && !timed && len(b.pending) < min(b.batch, b.buffer) {
				b.mu.Unlock()
				if closed {
					return
				}
				break
			}
			batch, g := b.pending, b.group
			b.pending, b.spare = b.spare[:0], nil
			b.group, b.writing = newCommitGroup(), g
			close(b.room)
			b.room = make(chan struct{})
			b.mu.Unlock()

			g.err = b.write(batch)
			clear(batch)
			b.mu.Lock()
			b.writing, b.spare = nil, batch[:0]
			b.mu.Unlock()
			close(g.done)
			timed = false
		}
	}
}

// write writes a batch. Durable, it tries once: a failure fails the
// group (its checks are not answered). Async, the checks were answered
// already: it retries with backoff until the write succeeds or the stop
// deadline passes.
func (b *checkBatcher) write(batch []credo.CheckEntry) error {
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := b.log.LogChecks(ctx, batch)
		cancel()
		b.onWrite(len(batch), time.Since(start), err)
		if err == nil {
			return nil
		}
		if b.durable {
			b.logger.Error("writing the check log failed: the checks are refused", "checks", len(batch), "err", err)
			return &credo.Error{Code: credo.EUNAVAILABLE, Op: "checklog",
				Message: "the check log cannot be written (" + credo.ErrorMessage(err) + "): the check is not answered; retry later", Err: err}
		}
		b.logger.Error("writing the check log failed; retrying", "checks", len(batch), "attempt", attempt, "retry_in", backoff, "err", err)
		select {
		case <-b.stop:
			b.lost.Add(int64(len(batch)))
			b.logger.Error("shutdown deadline passed: checks not written to the check log", "checks", len(batch), "first", batch[0].ID, "last", batch[len(batch)-1].ID)
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
