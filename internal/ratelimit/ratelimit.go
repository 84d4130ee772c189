// Package ratelimit is the token bucket per key that the API server and the
// web portal both limit callers with (requests per token, sign-ins and
// public list lookups per remote address).
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Limiter is a token bucket per key (a caller: a token id, or a remote
// address for public requests): rate requests per second, bursts up to
// burst. It is safe for concurrent use; Allow on a nil Limiter allows
// everything.
type Limiter struct {
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

// New returns a limiter refilling rate tokens per second, with buckets of
// burst tokens (at least 1; rate when burst is not positive).
func New(rate float64, burst int) *Limiter {
	if burst <= 0 {
		burst = int(math.Max(1, rate))
	}
	return &Limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// Allow takes one token from key's bucket at the instant at. When the
// bucket is empty it returns false and how long until a token is available.
func (l *Limiter) Allow(key string, at time.Time) (bool, time.Duration) {
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
func (l *Limiter) sweepLocked(now int64) {
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

// Available reports whether key's bucket holds a token at the instant at,
// without taking it; if not, how long until it will.
func (l *Limiter) Available(key string, at time.Time) (bool, time.Duration) {
	l.mu.RLock()
	b := l.buckets[key]
	l.mu.RUnlock()
	if b == nil {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	tokens := b.tokens
	if d := at.UnixNano() - b.last; d > 0 {
		tokens = min(l.burst, tokens+float64(d)*l.rate/1e9)
	}
	if tokens >= 1 {
		return true, 0
	}
	return false, time.Duration((1 - tokens) / l.rate * 1e9)
}
