package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveUntil runs `credo serve` over db until stop is called, which waits
// for a clean exit.
func serveUntil(t *testing.T, db string) (base string, stop func()) {
	t.Helper()
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
	base = "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/readyz"); err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if i > 200 {
			cancel()
			t.Fatal("server never became ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return base, func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d", code)
		}
	}
}

// TestServeKeepsTableSnapshot checks that serve leaves its decision table
// beside the store on a clean shutdown, and that a restart after records
// were filed behind its back (a local ingest) still answers from them.
func TestServeKeepsTableSnapshot(t *testing.T) {
	db := newRegistry(t)
	airline := strings.TrimSpace(mustRun(t, "token", "create", "--db", db, "--role", "checker", "--sector", "aviation", "--name", "Test Air"))
	_, stop := serveUntil(t, db)
	stop()
	snap := db + ".table"
	f, err := os.Open(snap)
	if err != nil {
		t.Fatalf("no snapshot after a clean shutdown: %v", err)
	}
	line, _ := bufio.NewReader(f).ReadString('\n')
	f.Close()
	var hdr struct {
		Policy string `json:"policy"`
		Seq    int64  `json:"seq"`
	}
	if err := json.Unmarshal([]byte(line), &hdr); err != nil || hdr.Policy == "" || hdr.Seq < 1 {
		t.Fatalf("snapshot header %q: %v", line, err)
	}

	file := filepath.Join(t.TempDir(), "r.ndjson")
	writeFile(t, file, fmt.Sprintf(`{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"S1","decided_at":"2024-01-02","evidence_sha256":%q}
`, ric(11), digest("s1")))
	if code, out, errs := runCLI(t, "ingest", "--db", db, file); code != 0 {
		t.Fatalf("ingest: exit %d\n%s%s", code, out, errs)
	}
	base, stop := serveUntil(t, db)
	defer stop()
	code, out, errs := runCLI(t, "check", "--server", base, "--token", airline, ric(11), "aviation")
	if code != 0 || !strings.Contains(out, "DENY") {
		t.Fatalf("check after restart: exit %d\n%s%s", code, out, errs)
	}
}
