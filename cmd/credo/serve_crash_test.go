package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"credo"
	chttp "credo/http"
	"credo/sqlite"
)

// startServer runs `credo serve` as a subprocess and waits until it is ready.
func startServer(t *testing.T, db, addr string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "serve", "--db", db, "--addr", addr)
	cmd.Env = append(os.Environ(), "CREDO_TEST_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		if i > 200 {
			cmd.Process.Kill()
			t.Fatal("server never became ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

// TestServerCrashKeepsDisputes crashes `credo serve` with SIGKILL between
// the steps of an objection and shows the dispute and its deadline intact
// after each restart, and the log verifiable.
func TestServerCrashKeepsDisputes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs server subprocesses")
	}
	db := newRegistry(t)
	subject := ric(11)
	file := filepath.Join(t.TempDir(), "r.ndjson")
	writeFile(t, file, fmt.Sprintf(`{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"X1","decided_at":"2024-01-02","evidence_sha256":%q}`+"\n", subject, digest("x1")))
	mustRun(t, "ingest", "--db", db, "-q", file)
	citizen := strings.TrimSpace(mustRun(t, "token", "create", "--db", db, "--role", "subject", "--subject", subject))
	court := strings.TrimSpace(mustRun(t, "token", "create", "--db", db, "--role", "authority", "--authority", "court.test"))
	admin := strings.TrimSpace(mustRun(t, "token", "create", "--db", db, "--role", "admin"))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	base := "http://" + addr
	ctx := context.Background()

	srv := startServer(t, db, addr)
	st, err := chttp.NewClient(base, admin).State(ctx, subject, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	recordID := st.Records[0].Record.ID
	opened, err := chttp.NewClient(base, citizen).OpenDispute(ctx, chttp.DisputeRequest{RecordID: recordID, Grounds: "I paid in full on 2024-01-10"})
	if err != nil {
		t.Fatal(err)
	}
	kill(t, srv) // crash right after the objection was acknowledged

	srv = startServer(t, db, addr)
	queue, err := chttp.NewClient(base, court).Disputes(ctx, "open", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(queue) != 1 || queue[0].ID != opened.ID || !queue[0].Deadline.Equal(opened.Deadline) || queue[0].Grounds != opened.Grounds {
		t.Fatalf("after the crash the court's queue is %+v, want dispute %d due %s", queue, opened.ID, opened.Deadline)
	}
	decided, err := chttp.NewClient(base, court).DecideDispute(ctx, opened.ID, credo.OutcomeUpheld, "no payment on file")
	if err != nil {
		t.Fatal(err)
	}
	kill(t, srv) // crash right after the decision

	srv = startServer(t, db, addr)
	all, err := chttp.NewClient(base, admin).Disputes(ctx, "all", "", subject)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Outcome != credo.OutcomeUpheld || !all[0].AppealBy.Equal(decided.AppealBy) || all[0].AppealBy.IsZero() {
		t.Fatalf("after the second crash: %+v, want the upheld decision with appeal deadline %s", all, decided.AppealBy)
	}
	kill(t, srv)
	if code, out, _ := runCLI(t, "verify", "--db", db); code != 0 {
		t.Fatalf("verify: %s", out)
	}
}

// TestR10GracefulShutdownLosesNothing stops `credo serve` with SIGTERM and
// then SIGINT under concurrent filing and checking: it exits 0, and every
// record acknowledged (201) and every check answered (200) is in the
// registry afterwards, which verifies.
func TestR10GracefulShutdownLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs server subprocesses")
	}
	addr := freeAddr(t)
	db, l := newLoad(t, addr)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGTERM, syscall.SIGINT} {
		srv := startServer(t, db, addr)
		stop := l.run()
		time.Sleep(300 * time.Millisecond) // let the load build up
		if err := srv.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		err := srv.Wait()
		stop()
		if err != nil {
			t.Fatalf("after %v: %v", sig, err)
		}
		t.Logf("%v: exited 0; %d records and %d checks acknowledged so far", sig, len(l.records), len(l.checks))
	}
	if len(l.checks) == 0 || len(l.records) == 0 {
		t.Fatalf("the load was never acknowledged: %d records, %d checks", len(l.records), len(l.checks))
	}
	l.assertNothingLost(t, db)
}

// TestR02ServeCheckLogRecovers starts `credo serve` while its check log
// cannot be opened (a directory in the way of the file): checks are
// refused (503, not answered and kept in memory), /readyz says why; once
// the cause is removed the node recovers without a restart, and a
// graceful shutdown then loses no answered check. Before, the first
// failure was remembered for the life of the process and the shutdown
// lost every check answered meanwhile.
func TestR02ServeCheckLogRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("runs server subprocesses")
	}
	addr := freeAddr(t)
	db, l := newLoad(t, addr)
	blocker := sqlite.CheckLogPath(db)
	if err := os.Mkdir(blocker, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, db, addr)
	stop := l.run()
	for l.refusedCount() == 0 && l.checkCount() < 300 { // (before: answered, unlogged)
		time.Sleep(10 * time.Millisecond)
	}
	if l.refusedCount() == 0 {
		t.Errorf("%d checks answered while the check log cannot be opened", l.checkCount())
	}
	resp, err := http.Get(l.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "check log") {
		t.Errorf("readyz while the check log cannot be opened: %d %s", resp.StatusCode, body)
	}
	answered := l.checkCount()
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	for l.checkCount() < answered+100 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = srv.Wait()
	stop()
	if err != nil {
		t.Fatalf("after SIGTERM: %v", err)
	}
	l.assertNothingLost(t, db)
}
