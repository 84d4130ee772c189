package http

import (
	"math"
	"strconv"
	"time"
)

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
