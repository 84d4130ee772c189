package http

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"credo"
)

// checkBatcher writes logged checks to the check log off the hot path. A
// check is handed over through a buffered channel and written in batches
// (every interval, or as soon as batch entries are queued; a write takes
// everything queued, up to 16 batches, so that a slow commit is amortised
// over more checks). No check is ever
// dropped: when the channel is full the handler blocks until there is room
// (backpressure: answering slower beats answering unlogged), a failed write
// is retried with backoff until it succeeds, and closing drains everything.
type checkBatcher struct {
	log      credo.CheckLog
	logger   *slog.Logger
	batch    int // queued entries that trigger a write
	maxBatch int // the most entries one write carries
	interval time.Duration
	metrics  *metrics

	mu       sync.RWMutex // guards closed against sends on ch
	closed   bool
	ch       chan credo.CheckEntry
	flushC   chan chan struct{}
	quit     chan struct{} // closed when closing starts: waiting senders give up
	quitOnce sync.Once
	stop     chan struct{} // closed when the closing deadline passes: stop retrying
	done     chan struct{}

	lost atomic.Int64 // entries abandoned because Close's deadline passed
}

func newCheckBatcher(log credo.CheckLog, logger *slog.Logger, m *metrics, buffer, batch int, interval time.Duration) *checkBatcher {
	b := &checkBatcher{log: log, logger: logger, batch: batch, maxBatch: 16 * batch, interval: interval, metrics: m,
		ch: make(chan credo.CheckEntry, buffer), flushC: make(chan chan struct{}), quit: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

// errClosed is returned for checks logged after the server closed.
var errClosed = credo.Errorf(credo.EUNAVAILABLE, "the server is shutting down")

// add queues an entry, blocking while the buffer is full. A check must not
// be answered unless it will be logged: an error means do not answer.
func (b *checkBatcher) add(ctx context.Context, e credo.CheckEntry) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return errClosed
	}
	select {
	case b.ch <- e:
		return nil
	default:
	}
	select {
	case b.ch <- e:
		return nil
	case <-ctx.Done():
		return &credo.Error{Code: credo.EUNAVAILABLE, Message: "the check log is falling behind; try again", Err: ctx.Err()}
	case <-b.quit:
		return errClosed
	}
}

// depth returns the number of entries waiting.
func (b *checkBatcher) depth() int { return len(b.ch) }

// flush waits until every entry queued before the call is written.
func (b *checkBatcher) flush(ctx context.Context) error {
	req := make(chan struct{})
	select {
	case b.flushC <- req:
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops accepting entries and writes every queued one. If ctx ends
// first the batcher stops retrying and close reports how many entries were
// not written (they are logged as lost).
func (b *checkBatcher) close(ctx context.Context) error {
	b.quitOnce.Do(func() { close(b.quit) })
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.ch)
	}
	b.mu.Unlock()
	select {
	case <-b.done:
	case <-ctx.Done():
		select {
		case <-b.stop:
		default:
			close(b.stop)
		}
		<-b.done
	}
	if n := b.lost.Load(); n > 0 {
		return credo.Errorf(credo.EINTERNAL, "%d checks could not be written to the check log before the shutdown deadline", n)
	}
	return nil
}

func (b *checkBatcher) run() {
	defer close(b.done)
	buf := make([]credo.CheckEntry, 0, b.batch)
	tick := time.NewTicker(b.interval)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-b.ch:
			if !ok {
				b.write(buf)
				return
			}
			buf = append(buf, e)
			if len(buf) < b.batch {
				continue
			}
		case <-tick.C:
		case req := <-b.flushC:
			// Write everything queued now, then answer.
			for {
				var closed bool
				buf, closed = b.fill(buf)
				full := len(buf) >= b.maxBatch
				buf = b.write(buf)
				if closed {
					close(req)
					return
				}
				if !full {
					break
				}
			}
			close(req)
			continue
		}
		var closed bool
		buf, closed = b.fill(buf)
		buf = b.write(buf)
		if closed {
			return
		}
	}
}

// fill moves the entries already queued into buf, without waiting, up to
// maxBatch: when writes fall behind, batches grow and one commit (one
// fsync) carries more checks. closed reports that the queue was closed.
func (b *checkBatcher) fill(buf []credo.CheckEntry) ([]credo.CheckEntry, bool) {
	for len(buf) < b.maxBatch {
		select {
		case e, ok := <-b.ch:
			if !ok {
				return buf, true
			}
			buf = append(buf, e)
		default:
			return buf, false
		}
	}
	return buf, false
}

// write writes a batch, retrying with backoff until it succeeds (or a
// stop deadline passes), and returns the emptied buffer.
func (b *checkBatcher) write(buf []credo.CheckEntry) []credo.CheckEntry {
	if len(buf) == 0 {
		return buf
	}
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := b.log.LogChecks(ctx, buf)
		cancel()
		b.metrics.flushed(len(buf), time.Since(start), err)
		if err == nil {
			break
		}
		b.logger.Error("writing the check log failed; retrying", "checks", len(buf), "attempt", attempt, "retry_in", backoff, "err", err)
		select {
		case <-b.stop:
			b.lost.Add(int64(len(buf)))
			b.logger.Error("shutdown deadline passed: checks not written to the check log", "checks", len(buf), "first", buf[0].ID, "last", buf[len(buf)-1].ID)
			return buf[:0]
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	clear(buf)
	return buf[:0]
}

// checkIDs makes check ids: unique, and sortable by time of issue as
// strings. An id is 16 characters of lowercase Crockford base32 over 10
// bytes: 6 bytes of Unix milliseconds, 2 of a per-process counter (so ids
// stay unique and increasing beyond 65,536 checks per millisecond by
// borrowing from the next millisecond), and 2 random bytes per process, so
// that servers sharing one check log do not collide; then 10 characters
// (50 bits) drawn at random for each id, so that knowing one id tells
// nothing of the others (a check id is not a capability, but it must not
// be guessable either).
type checkIDs struct {
	last     atomic.Uint64 // ms<<16 | counter
	instance [2]byte

	// Random bytes for the ids' suffixes, drawn from crypto/rand 640 at
	// a time (a draw per id would cost 200 ns on the hot path).
	rmu   sync.Mutex
	rpool [640]byte
	rused int
}

// random fills b with random bytes from the pool.
func (g *checkIDs) random(b []byte) {
	g.rmu.Lock()
	if g.rused+len(b) > len(g.rpool) {
		if _, err := rand.Read(g.rpool[:]); err != nil {
			panic("credo: crypto/rand failed: " + err.Error())
		}
		g.rused = 0
	}
	copy(b, g.rpool[g.rused:])
	g.rused += len(b)
	g.rmu.Unlock()
}

func newCheckIDs() *checkIDs {
	g := &checkIDs{}
	g.rused = len(g.rpool)
	if _, err := rand.Read(g.instance[:]); err != nil {
		panic("credo: crypto/rand failed: " + err.Error())
	}
	return g
}

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// next returns a new id issued at instant now.
func (g *checkIDs) next(now time.Time) string {
	ms := uint64(now.UnixMilli())
	var v uint64
	for {
		last := g.last.Load()
		v = max(last+1, ms<<16)
		if g.last.CompareAndSwap(last, v) {
			break
		}
	}
	var raw [10]byte
	binary.BigEndian.PutUint64(raw[:8], v)
	raw[8], raw[9] = g.instance[0], g.instance[1]
	// 80 bits = 16 groups of 5 bits, then 10 random characters (50 bits)
	// so that ids cannot be enumerated from one seen.
	var out [checkIDLen]byte
	var rnd [10]byte
	g.random(rnd[:])
	for i, b := range rnd {
		out[16+i] = crockford[b&31]
	}
	hi := binary.BigEndian.Uint64(raw[:8])
	lo := uint64(raw[8])<<8 | uint64(raw[9])
	for i := 15; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | (hi&31)<<11
		hi >>= 5
	}
	return string(out[:])
}

// checkIDLen is the length of a check id; ids issued before the random
// suffix was added have 16 characters and are still read.
const checkIDLen = 26

// validCheckID reports whether s has the form of a check id.
func validCheckID(s string) bool {
	if len(s) != checkIDLen && len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' && c != 'i' && c != 'l' && c != 'o' && c != 'u') {
			return false
		}
	}
	return true
}
