package http_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"credo"
	credohttp "credo/http"
)

// countingLog wraps a check log: it can fail its first writes and slow
// every write down.
type countingLog struct {
	credo.CheckLog
	fail    atomic.Int32 // writes still to fail
	calls   atomic.Int32
	written atomic.Int64
	delay   time.Duration
}

func (c *countingLog) LogChecks(ctx context.Context, cs []credo.CheckEntry) error {
	c.calls.Add(1)
	if c.fail.Add(-1) >= 0 {
		return errors.New("disk on fire")
	}
	time.Sleep(c.delay)
	if err := c.CheckLog.LogChecks(ctx, cs); err != nil {
		return err
	}
	c.written.Add(int64(len(cs)))
	return nil
}

// runChecks runs n checks from 16 goroutines over the subjects and
// returns the check ids the server gave.
func runChecks(t *testing.T, e *env, n int, subjects []string) []string {
	t.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				r := e.do("POST", "/v1/checks", "airline", map[string]string{"subject": subjects[i%len(subjects)], "sector": "aviation"})
				var res credohttp.CheckResult
				if r.status != 200 {
					t.Errorf("check %d: %d %s", i, r.status, r.body)
					return
				}
				r.decode(t, &res)
				ids[i] = res.CheckID
			}
		})
	}
	wg.Wait()
	return ids
}

// loggedIDs returns the ids in the check log for the subjects.
func loggedIDs(t *testing.T, log credo.CheckLog, subjects []string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	for _, s := range subjects {
		cs, err := log.ChecksOf(context.Background(), s, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if got[c.ID] {
				t.Errorf("check %s logged twice", c.ID)
			}
			got[c.ID] = true
		}
	}
	return got
}

func assertAllLogged(t *testing.T, ids []string, got map[string]bool) {
	t.Helper()
	if len(got) != len(ids) {
		t.Errorf("%d checks logged, want %d", len(got), len(ids))
	}
	for _, id := range ids {
		if !got[id] {
			t.Errorf("check %s answered but not logged", id)
			return
		}
	}
}

func TestCheckLogNeverDrops(t *testing.T) {
	subjects := []string{alice, bob, carol}
	t.Run("concurrent checks then Close", func(t *testing.T) {
		e := newEnv(t, credohttp.Options{RateLimit: -1})
		e.file(alice, "(2025)Log-1")
		const n = 2000
		ids := runChecks(t, e, n, subjects)
		e.ts.Close()
		if err := e.srv.Close(); err != nil {
			t.Fatal(err)
		}
		assertAllLogged(t, ids, loggedIDs(t, e.checks, subjects))
	})
	t.Run("backpressure", func(t *testing.T) {
		// A one-entry buffer in front of a slow log: handlers wait, none drops.
		var cl *countingLog
		e := newEnvWith(t, credohttp.Options{RateLimit: -1, CheckLogBuffer: 1, CheckLogBatch: 7},
			func(l credo.CheckLog) credo.CheckLog {
				cl = &countingLog{CheckLog: l, delay: time.Millisecond}
				return cl
			})
		ids := runChecks(t, e, 300, subjects)
		e.ts.Close()
		if err := e.srv.Close(); err != nil {
			t.Fatal(err)
		}
		assertAllLogged(t, ids, loggedIDs(t, e.checks, subjects))
		if cl.written.Load() != 300 {
			t.Errorf("%d written", cl.written.Load())
		}
	})
	t.Run("failed writes are retried (async)", func(t *testing.T) {
		// Async, checks are answered before they are written: a failed
		// write must be retried until it succeeds.
		var cl *countingLog
		e := newEnvWith(t, credohttp.Options{RateLimit: -1, CheckLogAsync: true},
			func(l credo.CheckLog) credo.CheckLog { cl = &countingLog{CheckLog: l}; cl.fail.Store(3); return cl })
		ids := runChecks(t, e, 200, subjects)
		e.ts.Close()
		if err := e.srv.Close(); err != nil {
			t.Fatal(err)
		}
		assertAllLogged(t, ids, loggedIDs(t, e.checks, subjects))
		if cl.calls.Load() < 4 {
			t.Errorf("%d writes; the failures were not retried", cl.calls.Load())
		}
	})
	t.Run("shutdown via ListenAndServe", func(t *testing.T) {
		e := newEnv(t, credohttp.Options{RateLimit: -1})
		ctx, cancel := context.WithCancel(context.Background())
		addrc := make(chan string, 1)
		srv := credohttp.NewServer(e.reg, e.tokens, e.checks, credohttp.Options{RateLimit: -1,
			OnListen: func(a net.Addr) { addrc <- a.String() }})
		done := make(chan error, 1)
		go func() { done <- srv.ListenAndServe(ctx, "127.0.0.1:0", "", "") }()
		addr := <-addrc
		c := credohttp.NewClient("http://"+addr, e.secret["airline"])
		var ids []string
		for range 50 {
			res, err := c.CheckResult(ctx, alice, "aviation")
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.CheckID)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("ListenAndServe: %v", err)
		}
		assertAllLogged(t, ids, loggedIDs(t, e.checks, []string{alice}))
		if _, err := c.Check(context.Background(), alice, "aviation"); credo.ErrorCode(err) != credo.EUNAVAILABLE {
			t.Errorf("after shutdown: %v", err)
		}
	})
}

func TestCheckIDsSortable(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1})
	prev := ""
	for range 100 {
		id := e.check("airline", bob, "aviation").CheckID
		if len(id) != 26 || id <= prev {
			t.Fatalf("check id %q after %q", id, prev)
		}
		prev = id
	}
}
