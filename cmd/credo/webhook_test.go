package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"credo"
	"credo/outbox"
)

func TestWebhookCommands(t *testing.T) {
	db := newRegistry(t)
	out := mustRun(t, "webhook", "add", "--db", db, "--url", "https://sms.example/credo")
	m := regexp.MustCompile(`webhook (wh_[0-9a-f]+) added: https://sms.example/credo \(notice.issued\)\nsecret: (whsec_[0-9a-f]+)\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("add:\n%s", out)
	}
	id, secret := m[1], m[2]
	out = mustRun(t, "webhook", "add", "--db", db, "--url", "https://cases.example/hook", "--secret", "whsec_given-secret-123", "--events", "notice.issued,dispute.opened")
	if strings.Contains(out, "secret:") || !strings.Contains(out, "(notice.issued,dispute.opened)") {
		t.Errorf("add with a secret:\n%s", out)
	}
	if code, _, errs := runCLI(t, "webhook", "add", "--db", db, "--url", "https://x.example/", "--events", "record.filed"); code != 1 || !strings.Contains(errs, "cannot be delivered") {
		t.Errorf("record.filed: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "webhook", "add", "--db", db); code != 1 || !strings.Contains(errs, "--url") {
		t.Errorf("no url: exit %d %s", code, errs)
	}
	out = mustRun(t, "webhook", "list", "--db", db)
	if !strings.Contains(out, id) || !strings.Contains(out, "https://cases.example/hook") || strings.Contains(out, secret) || strings.Contains(out, "whsec_given") {
		t.Errorf("list (must never show secrets):\n%s", out)
	}
	mustRun(t, "webhook", "remove", "--db", db, id)
	if code, _, errs := runCLI(t, "webhook", "remove", "--db", db, id); code != 1 || !strings.Contains(errs, "no active webhook") {
		t.Errorf("remove twice: exit %d %s", code, errs)
	}
	if out := mustRun(t, "webhook", "dead", "--db", db); !strings.Contains(out, "(none)") {
		t.Errorf("dead:\n%s", out)
	}
	if code, _, errs := runCLI(t, "webhook", "retry", "--db", db, "999"); code != 1 || !strings.Contains(errs, "no delivery 999") {
		t.Errorf("retry unknown: exit %d %s", code, errs)
	}
}

func TestShowNotices(t *testing.T) {
	db := newRegistry(t)
	file := filepath.Join(t.TempDir(), "r.ndjson")
	writeFile(t, file, fmt.Sprintf(`{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"N1","decided_at":"2024-01-02","evidence_sha256":%q}`+"\n", ric(11), digest("n1")))
	mustRun(t, "ingest", "--db", db, "-q", file)
	out := mustRun(t, "show", "--db", db, ric(11))
	if !regexp.MustCompile(`\nNOTICES\n#\d+ issued \d{4}-\d\d-\d\d for record \d+ \(JUDGMENT_DEFAULT\): effective 2024-01-02`).MatchString(out) ||
		!strings.Contains(out, "Notice of record") || !strings.Contains(out, "告知书") {
		t.Errorf("show lacks the notice:\n%s", out)
	}
	if out := mustRun(t, "show", "--db", db, ric(12)); !strings.Contains(out, "NOTICES\n(none)") {
		t.Errorf("show of a subject without notices:\n%s", out)
	}
}

// TestServeDeliversNotices runs `credo serve` with a webhook to a real local
// receiver: a record filed into the registry reaches the receiver as a
// signed notice; a receiver that keeps failing gets the delivery
// dead-lettered, and `credo webhook retry` requeues it.
func TestServeDeliversNotices(t *testing.T) {
	db := newRegistry(t)
	const secret = "whsec_serve-test-secret"
	var mu sync.Mutex
	failing := false
	var got []credo.Event
	var verifyErr error
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := outbox.Verify(secret, r.Header.Get(outbox.HeaderSignature), body, time.Now(), time.Minute); err != nil {
			verifyErr = err
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if failing {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		var ev credo.Event
		json.Unmarshal(body, &ev)
		got = append(got, ev)
	}))
	defer rcv.Close()
	mustRun(t, "webhook", "add", "--db", db, "--url", rcv.URL, "--secret", secret)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		var out, errb strings.Builder
		done <- run(ctx, []string{"serve", "--db", db, "--addr", addr, "--webhook-poll", "20ms",
			"--webhook-attempts", "2", "--webhook-backoff", "10ms", "--webhook-timeout", "2s"}, strings.NewReader(""), &out, &errb)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d", code)
		}
	}()
	waitFor(t, "the server", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})

	ingest := func(n int) {
		file := filepath.Join(t.TempDir(), "r.ndjson")
		writeFile(t, file, fmt.Sprintf(`{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"S%d","decided_at":"2024-01-02","evidence_sha256":%q}`+"\n", ric(n), n, digest(fmt.Sprint(n))))
		mustRun(t, "ingest", "--db", db, "-q", file)
	}
	ingest(21)
	waitFor(t, "the delivery", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 })
	mu.Lock()
	if verifyErr != nil || got[0].Type != credo.EventNoticeIssued || got[0].Notice.Subject != ric(21) {
		t.Errorf("received %+v (verify: %v)", got[0], verifyErr)
	}
	failing = true
	mu.Unlock()

	ingest(22)
	var id string
	waitFor(t, "the dead letter", func() bool {
		out := mustRun(t, "webhook", "dead", "--db", db)
		m := regexp.MustCompile(`\n(\d+)\s+\d+\s+notice.issued\s+wh_\w+\s+dead\s+2\s+-\s+HTTP 502`).FindStringSubmatch(out)
		if m != nil {
			id = m[1]
		}
		return m != nil
	})
	mu.Lock()
	failing = false
	mu.Unlock()
	mustRun(t, "webhook", "retry", "--db", db, id)
	waitFor(t, "the redelivery", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 })
	waitFor(t, "both marked delivered", func() bool {
		out := mustRun(t, "webhook", "deliveries", "--db", db, "--status", "delivered")
		return strings.Count(out, " delivered ") == 2
	})
	want := []string{`credo_outbox_deliveries_total{result="delivered"} 2`, `credo_outbox_deliveries_total{result="dead"} 1`,
		`credo_outbox_deliveries_total{result="retry"} 1`, "credo_outbox_pending 0", "credo_outbox_dead 0"}
	var metrics []byte
	waitFor(t, "the outbox metrics", func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, w := range want {
			if !strings.Contains(string(metrics), w) {
				return false
			}
		}
		return true
	})
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
