package outbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"credo"
	"credo/ident"
	"credo/outbox"
	"credo/registry"
	"credo/sqlite"
)

const secret = "whsec_test-secret-0123456789"

// receiver is a real HTTP endpoint on 127.0.0.1 that verifies every
// delivery and applies each event at most once, deduplicating by
// Credo-Event-Id, as a receiver must under at-least-once delivery.
type receiver struct {
	t  *testing.T
	ts *httptest.Server
	// respond decides the answer to the n-th request (from 1): a status,
	// and how long to stall after applying the event.
	respond func(n int) (status int, stall time.Duration)

	mu       sync.Mutex
	requests []delivery
	effects  map[string]int // event id -> times applied (must stay 1)
	applied  []credo.Event
}

type delivery struct {
	eventID, attempt, signature string
	body                        []byte
	at                          time.Time
}

func newReceiver(t *testing.T, respond func(n int) (int, time.Duration)) *receiver {
	r := &receiver{t: t, respond: respond, effects: map[string]int{}}
	r.ts = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.ts.Close)
	if !strings.HasPrefix(r.ts.URL, "http://127.0.0.1:") {
		t.Fatalf("receiver at %s, want a local one", r.ts.URL)
	}
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	d := delivery{eventID: req.Header.Get(outbox.HeaderEventID), attempt: req.Header.Get(outbox.HeaderAttempt),
		signature: req.Header.Get(outbox.HeaderSignature), body: body, at: time.Now()}
	if err := outbox.Verify(secret, d.signature, body, time.Now(), time.Minute); err != nil {
		r.t.Errorf("delivery %s: %v", d.eventID, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	r.requests = append(r.requests, d)
	n := len(r.requests)
	if r.effects[d.eventID] == 0 { // dedupe by the idempotency id
		var ev credo.Event
		if err := json.Unmarshal(body, &ev); err != nil || strconv.FormatInt(ev.Seq, 10) != d.eventID {
			r.t.Errorf("body %s does not carry event %s (%v)", body, d.eventID, err)
		}
		r.applied = append(r.applied, ev)
	}
	r.effects[d.eventID]++
	r.mu.Unlock()
	status, stall := r.respond(n)
	if stall > 0 {
		select {
		case <-time.After(stall):
		case <-req.Context().Done():
		}
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, "status %d", status)
}

func (r *receiver) seen() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.requests...)
}

// env is a registry over a real SQLite store with one webhook to a
// receiver, and a worker with small timeouts and backoffs.
type env struct {
	db     *sqlite.DB
	reg    *registry.Registry
	rcv    *receiver
	hook   *credo.Webhook
	worker *outbox.Worker
	n      int
}

func newEnv(t *testing.T, opts outbox.Options, respond func(n int) (int, time.Duration)) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := registry.Open(ctx, db, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "policy.yaml", src, time.Time{}); err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, reg: reg, rcv: newReceiver(t, respond)}
	e.hook = &credo.Webhook{URL: e.rcv.ts.URL + "/credo", Secret: secret}
	if err := db.AddWebhook(ctx, e.hook); err != nil {
		t.Fatal(err)
	}
	// Notices are stored as their facts: the worker renders their texts
	// into the delivery, as serve wires it.
	opts.NoticeText = reg.NoticeText
	e.worker = outbox.NewWorker(db, opts)
	return e
}

func ric(n int) string {
	first17 := fmt.Sprintf("11010519800101%03d", n)
	c, err := ident.RICCheck(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

// file files a listing record and returns the sequence number of its notice.
func (e *env) file(t *testing.T) int64 {
	t.Helper()
	e.n++
	sum := sha256.Sum256([]byte(strconv.Itoa(e.n)))
	res, err := e.reg.FileRecord(context.Background(), &credo.Record{Subject: ric(e.n), Rule: "JUDGMENT_DEFAULT", Authority: "court.test",
		CaseRef: fmt.Sprintf("(2025)O-%d", e.n), DecidedAt: time.Now().Add(-24 * time.Hour), EvidenceSHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := e.reg.Notices(context.Background(), res.Record.Subject)
	if err != nil || len(ns) != 1 {
		t.Fatalf("notices %v, %v", ns, err)
	}
	return ns[0].Seq
}

// drain runs the worker until done reports true, within a bounded number
// of rounds.
func (e *env) drain(t *testing.T, done func() bool) {
	t.Helper()
	for i := 0; i < 400; i++ {
		if done() {
			return
		}
		if _, err := e.worker.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the outbox did not settle")
}

// delivery returns the outbox row of an event.
func (e *env) delivery(t *testing.T, seq int64) *credo.Delivery {
	t.Helper()
	ds, err := e.db.Deliveries(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.EventSeq == seq {
			return d
		}
	}
	t.Fatalf("no delivery of event %d", seq)
	return nil
}

func (e *env) status(t *testing.T, seq int64, status string) func() bool {
	return func() bool { return e.delivery(t, seq).Status == status }
}

// counter reads a worker metric.
func counter(t *testing.T, w *outbox.Worker, name, result string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(w.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := result == ""
			for _, l := range m.GetLabel() {
				match = match || l.GetName() == "result" && l.GetValue() == result
			}
			if !match {
				continue
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return 0
}

var fast = outbox.Options{Timeout: 300 * time.Millisecond, MaxAttempts: 4, BackoffBase: 10 * time.Millisecond, BackoffMax: 40 * time.Millisecond}

func TestDeliverySigned(t *testing.T) {
	e := newEnv(t, fast, func(int) (int, time.Duration) { return http.StatusNoContent, 0 })
	seq := e.file(t)
	if d := e.delivery(t, seq); d.Status != credo.DeliveryPending || d.WebhookID != e.hook.ID || d.EventType != credo.EventNoticeIssued {
		t.Fatalf("queued with the notice: %+v", d)
	}
	e.drain(t, e.status(t, seq, credo.DeliveryDelivered))
	got := e.rcv.seen()
	if len(got) != 1 || got[0].eventID != strconv.FormatInt(seq, 10) || got[0].attempt != "1" {
		t.Fatalf("receiver saw %+v", got)
	}
	d := got[0]
	t.Run("the body is the notice event", func(t *testing.T) {
		var ev credo.Event
		if err := json.Unmarshal(d.body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != credo.EventNoticeIssued || ev.Notice == nil || ev.Notice.Text.EN == "" || ev.Hash == "" {
			t.Errorf("body %s", d.body)
		}
	})
	t.Run("the signature holds only with the secret", func(t *testing.T) {
		if err := outbox.Verify(secret, d.signature, d.body, d.at, time.Minute); err != nil {
			t.Errorf("right secret: %v", err)
		}
		if err := outbox.Verify("whsec_wrong-secret-0000000", d.signature, d.body, d.at, time.Minute); err != outbox.ErrSignatureMismatch {
			t.Errorf("wrong secret: %v", err)
		}
	})
	t.Run("a replay later is refused", func(t *testing.T) {
		if err := outbox.Verify(secret, d.signature, d.body, d.at.Add(10*time.Minute), 5*time.Minute); err != outbox.ErrStaleTimestamp {
			t.Errorf("replayed 10 minutes later: %v", err)
		}
	})
	if got := counter(t, e.worker, "credo_outbox_deliveries_total", outbox.ResultDelivered); got != 1 {
		t.Errorf("delivered counter %v, want 1", got)
	}
}

func TestDeliveryRetriesAfter500s(t *testing.T) {
	e := newEnv(t, fast, func(n int) (int, time.Duration) {
		if n <= 2 {
			return http.StatusInternalServerError, 0
		}
		return http.StatusOK, 0
	})
	seq := e.file(t)
	e.drain(t, e.status(t, seq, credo.DeliveryDelivered))
	got := e.rcv.seen()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	for i, d := range got {
		if d.attempt != strconv.Itoa(i+1) || d.eventID != strconv.FormatInt(seq, 10) {
			t.Errorf("request %d: attempt %s event %s", i+1, d.attempt, d.eventID)
		}
	}
	// Backoff: each retry waited at least half of base·2^(n-1).
	for i, min := range []time.Duration{5 * time.Millisecond, 10 * time.Millisecond} {
		if gap := got[i+1].at.Sub(got[i].at); gap < min {
			t.Errorf("retry %d after %v, want at least %v", i+1, gap, min)
		}
	}
	if d := e.delivery(t, seq); d.Attempts != 3 || d.LastError != "" || d.Delivered.IsZero() {
		t.Errorf("delivery %+v", d)
	}
	if r, ok := counter(t, e.worker, "credo_outbox_deliveries_total", outbox.ResultRetry), counter(t, e.worker, "credo_outbox_deliveries_total", outbox.ResultDelivered); r != 2 || ok != 1 {
		t.Errorf("retry %v delivered %v, want 2 and 1", r, ok)
	}
}

// TestRedeliveryNoDuplicateEffect: the receiver applies the event, then
// answers too late; the worker counts a timeout and delivers again with the
// same Credo-Event-Id; the receiver sees the duplicate and does not apply it
// twice, and the outbox marks the delivery delivered once.
func TestRedeliveryNoDuplicateEffect(t *testing.T) {
	e := newEnv(t, fast, func(n int) (int, time.Duration) {
		if n == 1 {
			return http.StatusOK, time.Second // past the 300 ms client timeout
		}
		return http.StatusOK, 0
	})
	seq := e.file(t)
	if _, err := e.worker.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := e.delivery(t, seq)
	if d.Status != credo.DeliveryPending || d.Attempts != 1 || !strings.Contains(d.LastError, "timeout") {
		t.Fatalf("after the timed-out attempt: %+v", d)
	}
	e.drain(t, e.status(t, seq, credo.DeliveryDelivered))
	got := e.rcv.seen()
	if len(got) != 2 || got[0].eventID != got[1].eventID {
		t.Fatalf("receiver saw %+v, want the same event twice", got)
	}
	e.rcv.mu.Lock()
	effects, applied := e.rcv.effects[got[0].eventID], len(e.rcv.applied)
	e.rcv.mu.Unlock()
	if effects != 2 || applied != 1 {
		t.Errorf("received %d times, applied %d times; want 2 and 1", effects, applied)
	}
	if d := e.delivery(t, seq); d.Attempts != 2 {
		t.Errorf("attempts %d, want 2", d.Attempts)
	}
	if got := counter(t, e.worker, "credo_outbox_deliveries_total", outbox.ResultDelivered); got != 1 {
		t.Errorf("delivered %v times, want once", got)
	}
	// More rounds change nothing: delivered is final.
	for range 3 {
		if n, err := e.worker.RunOnce(context.Background()); n != 0 || err != nil {
			t.Errorf("RunOnce = %d, %v after delivery", n, err)
		}
	}
	if n := len(e.rcv.seen()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestDeadLetter(t *testing.T) {
	fail := true
	var mu sync.Mutex
	e := newEnv(t, fast, func(int) (int, time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return http.StatusServiceUnavailable, 0
		}
		return http.StatusOK, 0
	})
	seq := e.file(t)
	e.drain(t, e.status(t, seq, credo.DeliveryDead))
	if n := len(e.rcv.seen()); n != fast.MaxAttempts {
		t.Errorf("%d attempts, want %d", n, fast.MaxAttempts)
	}
	d := e.delivery(t, seq)
	if d.Attempts != fast.MaxAttempts || !strings.Contains(d.LastError, "HTTP 503") {
		t.Errorf("dead delivery %+v", d)
	}
	dead, err := e.db.Deliveries(context.Background(), credo.DeliveryDead, 10)
	if err != nil || len(dead) != 1 || dead[0].ID != d.ID {
		t.Fatalf("dead letters %+v, %v", dead, err)
	}
	if n, _ := e.worker.RunOnce(context.Background()); n != 0 {
		t.Errorf("a dead delivery was attempted again")
	}
	if got := counter(t, e.worker, "credo_outbox_dead", ""); got != 1 {
		t.Errorf("dead gauge %v, want 1", got)
	}
	if r, dd := counter(t, e.worker, "credo_outbox_deliveries_total", outbox.ResultRetry), counter(t, e.worker, "credo_outbox_deliveries_total", outbox.ResultDead); r != float64(fast.MaxAttempts-1) || dd != 1 {
		t.Errorf("retry %v dead %v", r, dd)
	}

	t.Run("retry requeues it", func(t *testing.T) {
		mu.Lock()
		fail = false
		mu.Unlock()
		if err := e.db.RetryDelivery(context.Background(), d.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		e.drain(t, e.status(t, seq, credo.DeliveryDelivered))
		if d := e.delivery(t, seq); d.Attempts != 1 {
			t.Errorf("attempts %d after requeueing, want 1", d.Attempts)
		}
		if got := counter(t, e.worker, "credo_outbox_dead", ""); got != 0 {
			t.Errorf("dead gauge %v, want 0", got)
		}
		if err := e.db.RetryDelivery(context.Background(), d.ID, time.Now()); credo.ErrorCode(err) != credo.ECONFLICT {
			t.Errorf("retrying a delivered one: %v", err)
		}
	})
}

func TestWebhookRemoved(t *testing.T) {
	e := newEnv(t, fast, func(int) (int, time.Duration) { return http.StatusOK, 0 })
	seq := e.file(t)
	ctx := context.Background()
	if err := e.db.RemoveWebhook(ctx, e.hook.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if d := e.delivery(t, seq); d.Status != credo.DeliveryCancelled {
		t.Errorf("pending delivery of a removed webhook: %s", d.Status)
	}
	e.file(t)
	if ds, _ := e.db.Deliveries(ctx, "", 10); len(ds) != 1 {
		t.Errorf("%d deliveries, want none queued after removal", len(ds))
	}
	if n, _ := e.worker.RunOnce(ctx); n != 0 || len(e.rcv.seen()) != 0 {
		t.Errorf("delivered to a removed webhook")
	}
	if err := e.db.RemoveWebhook(ctx, e.hook.ID, time.Now()); credo.ErrorCode(err) != credo.ENOTFOUND {
		t.Errorf("removing twice: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	w := outbox.NewWorker(nil, outbox.Options{BackoffBase: time.Second, BackoffMax: 10 * time.Second})
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 60: 10 * time.Second} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := w.Backoff(n)
			if d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", n, d, want/2, want)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("Backoff(%d): %d distinct values in 200: no jitter", n, len(seen))
		}
	}
}

func TestWebhookValidation(t *testing.T) {
	e := newEnv(t, fast, func(int) (int, time.Duration) { return http.StatusOK, 0 })
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		wh   credo.Webhook
	}{
		{"relative URL", credo.Webhook{URL: "/hook"}},
		{"other scheme", credo.Webhook{URL: "ftp://x/y"}},
		{"record.filed", credo.Webhook{URL: "https://x/y", Events: []credo.EventType{credo.EventRecordFiled}}},
		{"short secret", credo.Webhook{URL: "https://x/y", Secret: "short"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.db.AddWebhook(ctx, &tc.wh); credo.ErrorCode(err) != credo.EINVALID {
				t.Errorf("err %v, want invalid", err)
			}
		})
	}
	wh := &credo.Webhook{URL: "https://cases.example/hook"}
	if err := e.db.AddWebhook(ctx, wh); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(wh.Secret, "whsec_") || len(wh.Secret) < 32 || !wh.Wants(credo.EventNoticeIssued) {
		t.Errorf("generated %+v", wh)
	}
}
