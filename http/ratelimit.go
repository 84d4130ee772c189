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
