package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRemoteCLI runs `credo serve` and drives it with the CLI's --server
// mode: the same commands through the API client.
func TestRemoteCLI(t *testing.T) {
	db := newRegistry(t)
	admin := strings.TrimSpace(mustRun(t, "token", "create", "--db", db, "--role", "admin"))
	airline := strings.TrimSpace(mustRun(t, "token", "create", "--db", db, "--role", "checker", "--sector", "aviation", "--name", "Test Air"))
	court := strings.TrimSpace(mustRun(t, "token", "create", "--db", db, "--role", "authority", "--authority", "court.test"))

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
		done <- run(ctx, []string{"serve", "--db", db, "--addr", addr}, strings.NewReader(""), &out, &errb)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d", code)
		}
	}()
	base := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/readyz"); err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if i > 100 {
			t.Fatal("server never became ready")
		}
		time.Sleep(50 * time.Millisecond)
	}

	file := filepath.Join(t.TempDir(), "r.ndjson")
	writeFile(t, file, fmt.Sprintf(`{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"R1","decided_at":"2024-01-02","evidence_sha256":%q}
{"subject":"110105194912310021","rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"R2","decided_at":"2024-01-02","evidence_sha256":%q}
`, ric(7), digest("r1"), digest("r2")))
	code, out, errs := runCLI(t, "ingest", "--server", base, "--token", court, file)
	if code != 1 || !strings.Contains(out, "2 lines: 1 filed, 0 already present, 1 rejected") || !strings.Contains(errs, file+":2: subject:") {
		t.Fatalf("remote ingest: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "check", "--server", base, "--token", airline, ric(7), "aviation")
	if code != 0 || !strings.Contains(out, ric(7)+" aviation: DENY") || !strings.Contains(out, "flight-ban (deny)") {
		t.Fatalf("remote check: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "check", "--server", base, "--token", airline, ric(7), "rail")
	if code != 1 || !strings.Contains(errs, "may not check sector") {
		t.Fatalf("remote check of another sector: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "show", "--server", base, "--token", admin, ric(7))
	if code != 0 || !strings.Contains(out, "debtors  black") || !strings.Contains(out, "JUDGMENT_DEFAULT") {
		t.Fatalf("remote show: exit %d\n%s%s", code, out, errs)
	}
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
	}
	return out
}
