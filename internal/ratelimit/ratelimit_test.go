package ratelimit

import (
	"testing"
	"time"
)

// TestH03Limiter: the limiter the API and the portal share gives each key
// its burst, refuses with the wait until the next token, refills at its
// rate, and Available looks without taking.
func TestH03Limiter(t *testing.T) {
	l := New(1, 2) // a token a second, bursts of two
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 2 {
		if ok, _ := l.Allow("a", t0); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	if ok, _ := l.Available("a", t0); ok {
		t.Error("Available with the bucket empty")
	}
	ok, wait := l.Allow("a", t0)
	if ok || wait != time.Second {
		t.Errorf("third request: %v, wait %v; want refused, 1s", ok, wait)
	}
	if ok, _ := l.Allow("b", t0); !ok {
		t.Error("another key shares a's bucket")
	}
	half := t0.Add(500 * time.Millisecond)
	if ok, wait := l.Available("a", half); ok || wait != 500*time.Millisecond {
		t.Errorf("Available after half a second: %v, %v", ok, wait)
	}
	later := t0.Add(time.Second)
	if ok, _ := l.Available("a", later); !ok {
		t.Error("not refilled after a second")
	}
	if ok, _ := l.Allow("a", later); !ok {
		t.Error("Available took the token")
	}
	var none *Limiter
	if ok, _ := none.Allow("a", t0); !ok {
		t.Error("a nil limiter refuses")
	}
}
