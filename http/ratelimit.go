package http

import "time"

// RateLimiter is a token bucket per key (the API's limiter), for other
// front ends: the portal limits sign-in attempts per remote address with
// it. It is safe for concurrent use.
type RateLimiter struct{ l *rateLimiter }

// NewRateLimiter returns a limiter refilling rate tokens per second, with
// buckets of burst tokens.
func NewRateLimiter(rate float64, burst int) *RateLimiter {
	return &RateLimiter{l: newRateLimiter(rate, burst)}
}

// Allow takes a token from key's bucket at the instant at. When the bucket
// is empty it returns false and how long until a token is available.
func (r *RateLimiter) Allow(key string, at time.Time) (bool, time.Duration) {
	return r.l.allow(key, at)
}

// available reports whether key's bucket holds a token at the instant at,
// without taking it; if not, how long until it will.
func (l *rateLimiter) available(key string, at time.Time) (bool, time.Duration) {
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
