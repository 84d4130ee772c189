package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	chttp "credo/http"
	"credo/registry"
)

// TestTInsiderAttackCLI is issue 17's insider attack end to end: with
// write access to the database file, delete the last event (and its
// projections) and rewrite the recorded head. The hash-chained credo
// verify still answers ok; but credo verify --checkpoint, credo serve on
// start (readyz 503, every answer refused) and a receipt issued before
// the attack, checked against the registry, all report the truncation at
// the first missing position.
func TestTInsiderAttackCLI(t *testing.T) {
	dir := t.TempDir()
	db := newRegistry(t)
	fileJudgments(t, db, 6)
	keyFile := filepath.Join(dir, "log.key")
	code, vkey, errs := runCLI(t, "keygen", "--out", keyFile, "--origin", "city.test/log")
	if code != 0 {
		t.Fatalf("keygen: %d %s", code, errs)
	}
	vkey = strings.TrimSpace(vkey)
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	if code, _, _ := runCLI(t, "keygen", "--out", keyFile); code == 0 {
		t.Fatal("keygen overwrote a key")
	}
	pubFile := filepath.Join(dir, "log.pub")
	writeFile(t, pubFile, vkey+"\n")

	// serve signs a checkpoint and keeps it; a subject exports a receipt.
	f := &serveFlags{logKey: keyFile, checkpointEvery: time.Hour}
	st, err := openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	signer, err := startTransparency(ctx, f, st, slog.New(slog.DiscardHandler))
	if err != nil || signer.Fault() != nil {
		t.Fatalf("start: %v, fault %v", err, signer.Fault())
	}
	head, _, _ := st.Head(ctx)
	if signer.Size() != head {
		t.Fatalf("checkpoint size %d, head %d", signer.Size(), head)
	}
	subject := ric(500 + 5) // filed last
	receipt, err := chttp.SubjectReceipt(ctx, st, signer, subject)
	if err != nil || len(receipt.Events) == 0 {
		t.Fatalf("receipt: %v", err)
	}
	receiptFile := filepath.Join(dir, "receipt.json")
	writeFile(t, receiptFile, string(mustJSON(t, receipt)))
	cancel()
	st.Close()

	if code, out, errs := runCLI(t, "receipt", "verify", receiptFile, "--key", pubFile); code != 0 || !strings.HasPrefix(out, "ok:") {
		t.Fatalf("receipt verify before the attack: %d %s%s", code, out, errs)
	}
	cpFile := keyFile + ".checkpoint"
	if code, out, errs := runCLI(t, "verify", "--db", db, "--checkpoint", cpFile, "--key", vkey); code != 0 {
		t.Fatalf("verify --checkpoint before the attack: %d %s%s", code, out, errs)
	}

	// The attack.
	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"DROP TRIGGER events_no_delete",
		"DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)",
		"DELETE FROM subject_events WHERE seq NOT IN (SELECT seq FROM events)",
		"DELETE FROM records WHERE id NOT IN (SELECT seq FROM events)",
		"UPDATE head SET seq = (SELECT max(seq) FROM events), hash = (SELECT hash FROM events ORDER BY seq DESC LIMIT 1)",
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	// The hash chain alone does not see it.
	if code, out, errs := runCLI(t, "verify", "--db", db, "--log-only"); code != 0 || !strings.HasPrefix(out, "ok") {
		t.Fatalf("plain verify after the attack: %d %s%s", code, out, errs)
	}
	// verify --checkpoint does.
	code, out, errs := runCLI(t, "verify", "--db", db, "--checkpoint", cpFile, "--key", vkey)
	want := "truncated: it ends at event " + itoa(head-1) + ", the checkpoint covers " + itoa(head) + " events (first missing position " + itoa(head) + ")"
	if code != 1 || !strings.Contains(out, want) {
		t.Fatalf("verify --checkpoint after the attack: exit %d\n%s%s\nwant %q", code, out, errs, want)
	}
	// The earlier receipt still verifies offline (it proves what the
	// registry published) and, checked against the registry, shows the
	// registry no longer has it.
	if code, out, _ := runCLI(t, "receipt", "verify", receiptFile, "--key", pubFile); code != 0 {
		t.Fatalf("offline receipt verify: %d %s", code, out)
	}
	code, out, errs = runCLI(t, "receipt", "verify", receiptFile, "--key", pubFile, "--db", db)
	if code != 1 || !strings.Contains(out, "first missing position "+itoa(head)) {
		t.Fatalf("receipt verify against the registry: exit %d\n%s%s", code, out, errs)
	}

	// serve on start refuses.
	st, err = openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logBuf strings.Builder
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	signer, err = startTransparency(ctx, f, st, slog.New(slog.NewTextHandler(&logBuf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if signer.Fault() == nil || !strings.Contains(logBuf.String(), "refusing to serve") || !strings.Contains(logBuf.String(), "first missing position") {
		t.Fatalf("serve start: fault %v, log %s", signer.Fault(), logBuf.String())
	}
	reg, err := registry.Open(ctx, st, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := chttp.NewServer(reg, st, st, chttp.Options{Transparency: signer})
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, path := range []string{"/readyz", "/checkpoint", "/v1/policies"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || !strings.Contains(string(body), "truncated") {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
