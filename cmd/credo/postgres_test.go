package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"credo"
	"credo/internal/pgtest"
)

// TestPostgresCLI runs a registry on PostgreSQL through the commands:
// init, ingest, show, check, token, dispute, verify, with --postgres and
// with $CREDO_POSTGRES, and checks that verify catches a tampered event.
func TestPostgresCLI(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	t.Setenv(envPostgres, "")
	must := func(args ...string) string {
		t.Helper()
		code, out, errs := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("credo %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
		}
		return out
	}
	// A command on a database nobody initialised says so.
	if code, _, errs := runCLI(t, "verify", "--postgres", dsn); code == 0 || !strings.Contains(errs, "credo init --postgres") {
		t.Errorf("verify before init: exit %d, %s", code, errs)
	}
	if out := must("init", "--postgres", dsn, "--policy", "testdata/policy.yaml"); !strings.Contains(out, "published policy") {
		t.Errorf("init: %s", out)
	}
	file := filepath.Join(t.TempDir(), "records.ndjson")
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, `{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"PG%d","decided_at":"2024-03-01","evidence_sha256":%q}`+"\n",
			ric(i), i, digest(fmt.Sprint(i)))
	}
	writeFile(t, file, b.String())
	if out := must("ingest", "--postgres", dsn, "-q", file); !strings.Contains(out, "50 lines: 50 filed, 0 already present, 0 rejected") {
		t.Errorf("ingest: %s", out)
	}
	// Idempotent: the same file again files nothing.
	if out := must("ingest", "--postgres", dsn, "-q", "--batch", "7", file); !strings.Contains(out, "0 filed, 50 already present") {
		t.Errorf("ingest again: %s", out)
	}
	if out := must("show", "--postgres", dsn, ric(3)); !strings.Contains(out, "PG3") {
		t.Errorf("show does not list the record:\n%s", out)
	}
	if out := must("check", "--postgres", dsn, ric(3), "aviation"); !strings.Contains(out, "DENY") {
		t.Errorf("check of a judgment defaulter for aviation:\n%s", out)
	}
	if out := must("check", "--postgres", dsn, ric(999), "aviation"); !strings.Contains(out, "ALLOW") {
		t.Errorf("check of a subject without records:\n%s", out)
	}
	must("token", "create", "--postgres", dsn, "--role", "checker", "--sector", "aviation", "--name", "Air China")
	if out := must("token", "list", "--postgres", dsn); !strings.Contains(out, "Air China") {
		t.Errorf("token list:\n%s", out)
	}
	if out := must("dispute", "open", "--postgres", dsn, "--record", "2", "--grounds", "not me"); !strings.Contains(out, "dispute") {
		t.Errorf("dispute open: %s", out)
	}
	if out := must("disputes", "--postgres", dsn); !strings.Contains(out, ric(0)) || !strings.Contains(out, "objection") {
		t.Errorf("disputes:\n%s", out)
	}
	// The environment names the database when no flag does.
	t.Setenv(envPostgres, dsn)
	// The policy, 50 records and their notices, the dispute.
	if out := must("verify"); !strings.HasPrefix(out, "ok: 102 events, head 102 ") {
		t.Errorf("verify: %s", out)
	}
	// An explicit --db wins over the environment; --db with --postgres is
	// refused.
	if code, _, errs := runCLI(t, "verify", "--db", filepath.Join(t.TempDir(), "none.db")); code == 0 || !strings.Contains(errs, "no registry at") {
		t.Errorf("verify --db of a missing file with $%s set: exit %d, %s", envPostgres, code, errs)
	}
	if code, _, errs := runCLI(t, "verify", "--db", "x.db", "--postgres", dsn); code == 0 || !strings.Contains(errs, "exclusive") {
		t.Errorf("--db with --postgres: exit %d, %s", code, errs)
	}
	t.Setenv(envPostgres, "")

	// Tampering with an event (triggers disabled) is caught.
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	for _, q := range []string{
		"ALTER TABLE events DISABLE TRIGGER events_no_update",
		// The text string "PG7" (CBOR 0x63 'P' 'G' '7') becomes "PG8".
		"UPDATE events SET body = decode(replace(encode(body, 'hex'), '63504737', '63504738'), 'hex') WHERE type = 'record.filed' AND position('\\x63504737'::bytea in body) > 0",
		"ALTER TABLE events ENABLE TRIGGER events_no_update",
	} {
		if _, err := c.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	code, out, _ := runCLI(t, "verify", "--postgres", dsn)
	if code != 1 || !strings.Contains(out, "FAILED at event") || !strings.Contains(out, "hash does not match its content") {
		t.Errorf("verify after tampering: exit %d, %s", code, out)
	}
}

// TestPostgresServe serves a PostgreSQL registry: the notice of a record
// ingested by another process is delivered by the server's outbox worker;
// a record filed through the API is decided, and checks are logged and
// counted in the database.
func TestPostgresServe(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	t.Setenv(envPostgres, "")
	mustRun(t, "init", "--postgres", dsn, "--policy", "testdata/policy.yaml")
	admin := strings.TrimSpace(mustRun(t, "token", "create", "--postgres", dsn, "--role", "admin"))
	checker := strings.TrimSpace(mustRun(t, "token", "create", "--postgres", dsn, "--role", "checker", "--sector", "aviation"))
	var mu sync.Mutex
	var got []credo.Event
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev credo.Event
		json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	}))
	defer rcv.Close()
	mustRun(t, "webhook", "add", "--postgres", dsn, "--url", rcv.URL)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var serveErr strings.Builder
	go func() {
		var out strings.Builder
		done <- run(ctx, []string{"serve", "--postgres", dsn, "--addr", addr, "--webhook-poll", "20ms"}, strings.NewReader(""), &out, &serveErr)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, serveErr.String())
		}
	}()
	waitFor(t, "the server", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	file := filepath.Join(t.TempDir(), "r.ndjson")
	writeFile(t, file, fmt.Sprintf(`{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"S1","decided_at":"2024-01-02","evidence_sha256":%q}`+"\n", ric(1), digest("1")))
	mustRun(t, "ingest", "--postgres", dsn, "-q", file)
	waitFor(t, "the notice's delivery", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 })
	mu.Lock()
	if got[0].Type != credo.EventNoticeIssued || got[0].Notice.Subject != ric(1) {
		t.Errorf("delivered %+v", got[0])
	}
	mu.Unlock()

	call := func(method, path, token string, body any) (int, string) {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, "http://"+addr+path, r)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// A record filed through the API is decided at once; the check is
	// logged and counted in the database.
	code, body := call("POST", "/v1/records", admin, map[string]any{"subject": ric(2), "rule": "JUDGMENT_DEFAULT",
		"authority": "court.test", "case_ref": "S2", "decided_at": "2024-01-02", "evidence_sha256": digest("2")})
	if code != 201 && code != 200 {
		t.Fatalf("filing through the API: %d %s", code, body)
	}
	if code, body := call("POST", "/v1/checks", checker, map[string]string{"subject": ric(2), "sector": "aviation"}); code != 200 || !strings.Contains(body, `"deny"`) {
		t.Errorf("check: %d %s", code, body)
	}
	waitFor(t, "the check to be logged and counted", func() bool {
		code, body := call("GET", "/v1/stats", admin, nil)
		return code == 200 && strings.Contains(body, `"denials":1`)
	})
	if code, body := call("GET", "/v1/subjects/"+ric(2)+"/checks", admin, nil); code != 200 || !strings.Contains(body, "aviation") {
		t.Errorf("the subject's access log: %d %s", code, body)
	}
	waitFor(t, "the second notice's delivery", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 })
	if out := mustRun(t, "verify", "--postgres", dsn); !strings.HasPrefix(out, "ok: 5 events") {
		t.Errorf("verify: %s", out)
	}
}
