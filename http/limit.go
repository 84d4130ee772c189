package http

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// rateLimiter is a token bucket per caller (token id, or remote address for
// public requests): rate requests per second, bursts up to burst.
type rateLimiter struct {
	rate  float64
	burst float64

	mu      sync.RWMutex
	buckets map[string]*bucket
}

type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   int64 // unix nanoseconds
}

// maxBuckets bounds the limiter's memory; idle buckets are swept when it
// is reached.
const maxBuckets = 100000

func newRateLimiter(rate float64, burst int) *rateLimiter {
	if burst <= 0 {
		burst = int(math.Max(1, rate))
	}
	return &rateLimiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// allow takes one token from key's bucket. When the bucket is empty it
// returns false and how long until a token is available.
func (l *rateLimiter) allow(key string, at time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.RLock()
	b := l.buckets[key]
	l.mu.RUnlock()
	now := at.UnixNano()
	if b == nil {
		l.mu.Lock()
		if b = l.buckets[key]; b == nil {
			if len(l.buckets) >= maxBuckets {
				l.sweepLocked(now)
			}
			b = &bucket{tokens: l.burst, last: now}
			l.buckets[key] = b
		}
		l.mu.Unlock()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := now - b.last; d > 0 {
		b.tokens = math.Min(l.burst, b.tokens+float64(d)*l.rate/1e9)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * 1e9)
	return false, wait
}

// sweepLocked drops buckets that have refilled completely (their callers
// have been idle); if none has, it drops them all.
func (l *rateLimiter) sweepLocked(now int64) {
	full := int64(l.burst / l.rate * 1e9)
	n := 0
	for k, b := range l.buckets {
		b.mu.Lock()
		idle := now-b.last > full
		b.mu.Unlock()
		if idle {
			delete(l.buckets, k)
			n++
		}
	}
	if n == 0 {
		clear(l.buckets)
	}
}

// retryAfter formats a wait as whole seconds for Retry-After (at least 1).
func retryAfter(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// admission bounds the requests in flight: beyond the bound a request is
// refused at once (503) instead of queueing, so that overload does not pile
// up goroutines and memory.
type admission struct {
	slots chan struct{}
}

func newAdmission(n int) *admission { return &admission{slots: make(chan struct{}, n)} }

func (a *admission) acquire() bool {
	select {
	case a.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (a *admission) release() { <-a.slots }

func (a *admission) inFlight() int { return len(a.slots) }
