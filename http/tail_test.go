package http_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"credo"
	credohttp "credo/http"
	"credo/registry"
)

// fileBehind files a judgment default for subject straight into the store,
// as another node would: this node's registry does not see it until its
// tailer reads it.
func (e *env) fileBehind(subject, caseRef string) {
	e.t.Helper()
	rec := &credo.Record{Subject: subject, Rule: "JUDGMENT_DEFAULT", Authority: "court.test", CaseRef: caseRef,
		DecidedAt: time.Date(2025, 1, 10, 10, 0, 0, 0, time.UTC), EvidenceSHA256: digest(caseRef)}
	if _, err := e.db.FileRecords(context.Background(), []*credo.Record{rec}); err != nil {
		e.t.Fatal(err)
	}
}

// tail runs the registry's tailer until the returned stop is called.
func (e *env) tail(interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.reg.Tail(ctx, registry.TailOptions{Interval: interval}); err != nil {
			e.t.Error(err)
		}
	}()
	e.waitFor("the tailer's first read", func() bool { return !e.reg.TailStatus().LastPoll.IsZero() })
	var once bool
	stop = func() {
		if !once {
			once = true
			cancel()
			<-done
		}
	}
	e.t.Cleanup(stop)
	return stop
}

func (e *env) waitFor(what string, ok func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// position returns a check answer's log position, failing unless the
// header and the body agree.
func position(t *testing.T, r *response) int64 {
	t.Helper()
	h, err := strconv.ParseInt(r.header.Get(credohttp.PositionHeader), 10, 64)
	if err != nil {
		t.Fatalf("%s header %q: %v", credohttp.PositionHeader, r.header.Get(credohttp.PositionHeader), err)
	}
	var body struct {
		LogPosition *int64 `json:"log_position"`
	}
	r.decode(t, &body)
	if body.LogPosition == nil || *body.LogPosition != h {
		t.Fatalf("header says position %d, body %v: %s", h, body.LogPosition, r.body)
	}
	return h
}

func ready(t *testing.T, e *env) (int, credohttp.Ready, string) {
	t.Helper()
	r := e.do("GET", "/readyz", "", nil)
	var rd credohttp.Ready
	if r.status == http.StatusOK {
		r.decode(t, &rd)
		return r.status, rd, ""
	}
	if r.header.Get("Retry-After") == "" {
		t.Errorf("a %d from /readyz without Retry-After", r.status)
	}
	return r.status, rd, r.problem(t).Detail
}

// TestCheckStatesPosition: a check answers with the log position its
// table reflected; events another node writes show once the tailer has
// read them, with a later position.
func TestCheckStatesPosition(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1, MaxTailLag: 2})
	check := func(subject string) (*response, int64) {
		r := e.do("POST", "/v1/checks", "airline", map[string]string{"subject": subject, "sector": "aviation"})
		if r.status != http.StatusOK {
			t.Fatalf("check: %d %s", r.status, r.body)
		}
		return r, position(t, r)
	}
	r, p0 := check(alice)
	head, _, _ := e.db.Head(context.Background())
	if p0 != head || !strings.Contains(string(r.body), `"decision":"allow"`) {
		t.Fatalf("before: position %d (head %d): %s", p0, head, r.body)
	}

	// A tailer that read the log once and then sleeps: three events
	// written behind its back put the table 3 events behind (bound 2).
	stop := e.tail(time.Hour)
	if st, rd, _ := ready(t, e); st != http.StatusOK || !rd.Tailing || rd.TailLag != 0 || rd.SinceLastPoll == nil {
		t.Fatalf("readyz while current: %d %+v", st, rd)
	}
	for _, c := range []string{"B-1", "B-2", "B-3"} {
		e.fileBehind(alice, c)
	}
	st, _, detail := ready(t, e)
	if st != http.StatusServiceUnavailable || !strings.Contains(detail, "3 events behind") {
		t.Errorf("readyz 3 events behind: %d %q", st, detail)
	}
	if r, p := check(alice); p != p0 || !strings.Contains(string(r.body), `"decision":"allow"`) {
		t.Errorf("before the tailer read the events: position %d, want %d: %s", p, p0, r.body)
	}
	stop()

	e.tail(10 * time.Millisecond)
	e.waitFor("the tailer to catch up", func() bool { return e.reg.Position() == p0+3 })
	r, p := check(alice)
	if p != p0+3 || !strings.Contains(string(r.body), `"decision":"deny"`) {
		t.Errorf("after: position %d, want %d: %s", p, p0+3, r.body)
	}
	if st, rd, d := ready(t, e); st != http.StatusOK || rd.TailLag != 0 || rd.LogPosition != p0+3 || rd.LogHead != p0+3 {
		t.Errorf("readyz after catching up: %d %+v %s", st, rd, d)
	}
	m := e.do("GET", "/metrics", "", nil)
	for _, want := range []string{fmt.Sprintf("credo_log_position %d\n", p0+3), "credo_tail_applied_total 3\n", "credo_tail_errors_total 0\n", "credo_tail_seconds_since_poll "} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// A batch states the position too.
	rb := e.do("POST", "/v1/checks/batch", "airline", map[string]any{"sector": "aviation", "subjects": []string{alice, bob}})
	if h := rb.header.Get(credohttp.PositionHeader); h != strconv.FormatInt(p0+3, 10) {
		t.Errorf("batch position header %q", h)
	}
	var batch credohttp.CheckBatchResponse
	rb.decode(t, &batch)
	for _, d := range batch.Decisions {
		if d.CheckResult == nil || d.LogPosition != p0+3 {
			t.Errorf("batch item %+v", d)
		}
	}
}

// TestReadyzStaleTailer: a tailer that has not read the log for longer
// than the bound makes the node unready.
func TestReadyzStaleTailer(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1, MaxTailStale: 100 * time.Millisecond})
	e.tail(time.Hour)
	if st, _, d := ready(t, e); st != http.StatusOK {
		t.Fatalf("fresh: %d %s", st, d)
	}
	time.Sleep(150 * time.Millisecond)
	if st, _, d := ready(t, e); st != http.StatusServiceUnavailable || !strings.Contains(d, "last read the log") {
		t.Errorf("stale: %d %q", st, d)
	}
}
