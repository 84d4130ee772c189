package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"credo"
	chttp "credo/http"
	"credo/postgres"
)

// pgBin returns the PostgreSQL 15 binaries' folder: $CREDO_PG_BIN or the
// Debian default. Without it the test is skipped on a developer's machine
// and fails in CI.
func pgBin(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CREDO_PG_BIN")
	if dir == "" {
		dir = "/usr/lib/postgresql/15/bin"
	}
	if _, err := os.Stat(filepath.Join(dir, "pg_basebackup")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no PostgreSQL binaries in %s (set CREDO_PG_BIN): %v", dir, err)
		}
		t.Skipf("no PostgreSQL binaries in %s (set CREDO_PG_BIN)", dir)
	}
	if _, err := exec.LookPath("runuser"); err != nil {
		t.Skip("runuser is missing: cannot start clusters as the postgres user")
	}
	return dir
}

// cluster is a throwaway PostgreSQL cluster run as the postgres user.
type pgCluster struct {
	t         *testing.T
	bin, dir  string
	port      int
	sock, log string
}

func asPostgres(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (c *pgCluster) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

func (c *pgCluster) ctl(args ...string) {
	c.t.Helper()
	asPostgres(c.t, filepath.Join(c.bin, "pg_ctl"), append([]string{"-D", c.dir, "-l", c.log, "-w", "-t", "60"}, args...)...)
}

func (c *pgCluster) configure(extra string) {
	c.t.Helper()
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = off\n%s", c.port, c.sock, extra)
	f, err := os.OpenFile(filepath.Join(c.dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(conf); err != nil {
		c.t.Fatal(err)
	}
}

// primaryAndStandby starts a primary and a streaming hot standby of it on
// loopback ports; both are stopped when the test ends.
func primaryAndStandby(t *testing.T) (primary, standby *pgCluster) {
	bin := pgBin(t)
	base, err := os.MkdirTemp("", "credo-pgrepl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if out, err := exec.Command("chown", "postgres:postgres", base).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	os.Chmod(base, 0o755)
	primary = &pgCluster{t: t, bin: bin, dir: filepath.Join(base, "primary"), port: freePort(t), sock: base, log: filepath.Join(base, "primary.log")}
	asPostgres(t, filepath.Join(bin, "initdb"), "-D", primary.dir, "-A", "trust", "-U", "postgres", "--no-sync")
	primary.configure("wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n")
	hba, err := os.OpenFile(filepath.Join(primary.dir, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	hba.WriteString("\nhost replication all 127.0.0.1/32 trust\n")
	hba.Close()
	primary.ctl("start")
	t.Cleanup(func() {
		exec.Command("runuser", "-u", "postgres", "--", filepath.Join(bin, "pg_ctl"), "-D", primary.dir, "-m", "immediate", "stop").Run()
	})

	standby = &pgCluster{t: t, bin: bin, dir: filepath.Join(base, "standby"), port: freePort(t), sock: base, log: filepath.Join(base, "standby.log")}
	asPostgres(t, filepath.Join(bin, "pg_basebackup"), "-h", "127.0.0.1", "-p", fmt.Sprint(primary.port), "-U", "postgres", "-D", standby.dir, "-R", "-X", "stream")
	standby.configure("hot_standby = on\n")
	standby.ctl("start")
	t.Cleanup(func() {
		exec.Command("runuser", "-u", "postgres", "--", filepath.Join(bin, "pg_ctl"), "-D", standby.dir, "-m", "immediate", "stop").Run()
	})
	return primary, standby
}

// TestReadReplica: a node that rebuilds and tails from a streaming
// standby answers as a node on the primary once caught up; a primary
// restarted while a client files and checks makes the node answer 503
// with Retry-After, it recovers, and nothing acknowledged is lost.
func TestReadReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL clusters and server subprocesses")
	}
	primary, standby := primaryAndStandby(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, primary.dsn("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE credo"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	pdsn, sdsn := primary.dsn("credo"), standby.dsn("credo")
	t.Setenv(envPostgres, "")
	mustRun(t, "init", "--postgres", pdsn, "--policy", "testdata/policy.yaml")
	court := strings.TrimSpace(mustRun(t, "token", "create", "--postgres", pdsn, "--role", "authority", "--authority", "court.test"))
	airline := strings.TrimSpace(mustRun(t, "token", "create", "--postgres", pdsn, "--role", "checker", "--sector", "aviation", "--name", "Air"))

	onPrimary := &node{t: t, addr: freeAddr(t), args: []string{"--postgres", pdsn, "--tail-interval", "100ms"}}
	onPrimary.start()
	for i := range 30 {
		if i%3 == 0 {
			if _, err := chttp.NewClient(onPrimary.url(), court).FileRecord(ctx, judgmentRecord(ric(i), fmt.Sprintf("R-%d", i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The standby replays the primary's schema before a node may read it
	// (a node on a standby behind on the schema refuses to start): on a
	// loaded machine that takes a moment.
	waitSchema := func() {
		t.Helper()
		var want int
		pc, err := pgx.Connect(ctx, pdsn)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close(ctx)
		if err := pc.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM schema_migrations").Scan(&want); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			var got int
			if sc, err := pgx.Connect(ctx, sdsn); err == nil {
				sc.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM schema_migrations").Scan(&got)
				sc.Close(ctx)
			}
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the standby has schema version %d, the primary %d", got, want)
			}
		}
	}
	waitSchema()
	onStandby := &node{t: t, addr: freeAddr(t), args: []string{"--postgres", pdsn, "--postgres-read", sdsn, "--tail-interval", "100ms", "--max-tail-stale", "1h"}}
	onStandby.start()
	caughtUp := func() {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; {
			_, rp := readyz(t, onPrimary.url())
			_, rs := readyz(t, onStandby.url())
			if rp.LogHead > 0 && rs.LogPosition == rp.LogHead && rp.LogPosition == rp.LogHead {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the standby node never caught up: primary %+v, standby %+v", rp, rs)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	sameAnswers := func(firstFilings bool) {
		t.Helper()
		caughtUp()
		for i := range 30 {
			dp, err := chttp.NewClient(onPrimary.url(), airline).Check(ctx, ric(i), "aviation")
			if err != nil {
				t.Fatal(err)
			}
			ds, err := chttp.NewClient(onStandby.url(), airline).Check(ctx, ric(i), "aviation")
			if err != nil {
				t.Fatal(err)
			}
			if dp.Decision != ds.Decision || (firstFilings && (i%3 == 0) != (dp.Decision == "deny")) {
				t.Errorf("%s: primary node %s, standby node %s", ric(i), dp.Decision, ds.Decision)
			}
		}
	}
	sameAnswers(true)

	// While the standby does not replay, /readyz on the standby node says
	// how far the standby is behind the primary, and counts its lag from
	// the primary's head; once replay resumes both lags go back to zero.
	sconn, err := pgx.Connect(ctx, standby.dsn("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer sconn.Close(ctx)
	if _, err := sconn.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := chttp.NewClient(onPrimary.url(), court).FileRecord(ctx, judgmentRecord(ric(200+i), fmt.Sprintf("R-P%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	_, rp := readyz(t, onPrimary.url())
	st, rs := readyz(t, onStandby.url())
	if st != 200 || rs.PrimaryHead == nil || rs.ReplicationLag == nil {
		t.Fatalf("standby node's /readyz while replay is paused: %d %+v", st, rs)
	}
	if *rs.PrimaryHead != rp.LogHead || *rs.ReplicationLag < 3 || *rs.ReplicationLag != *rs.PrimaryHead-rs.LogHead || rs.TailLag < 3 {
		t.Errorf("standby node's /readyz while replay is paused: primary head %d, replication lag %d, tail lag %d, log head %d; the primary's head is %d (3 records behind)",
			*rs.PrimaryHead, *rs.ReplicationLag, rs.TailLag, rs.LogHead, rp.LogHead)
	}
	if rp.PrimaryHead != nil || rp.ReplicationLag != nil {
		t.Errorf("a node on the primary reports replication: %+v", rp)
	}
	if _, err := sconn.Exec(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	caughtUp()
	if _, rs := readyz(t, onStandby.url()); rs.ReplicationLag == nil || *rs.ReplicationLag != 0 || rs.TailLag != 0 {
		t.Errorf("standby node's /readyz after replay resumed: %+v", rs)
	}

	// A record filed through the standby node goes to the primary and
	// comes back through the standby's replay.
	if _, err := chttp.NewClient(onStandby.url(), court).FileRecord(ctx, judgmentRecord(ric(1), "R-S1")); err != nil {
		t.Fatal(err)
	}
	caughtUp()
	if d, err := chttp.NewClient(onStandby.url(), airline).Check(ctx, ric(1), "aviation"); err != nil || d.Decision != "deny" {
		t.Errorf("record filed through the standby node: %+v %v", d, err)
	}

	// Restart the primary while a client keeps filing and checking
	// through the standby node.
	var (
		mu       sync.Mutex
		acked    []string // case references acknowledged with a 2xx
		refused  []error
		checked  int
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		filer    = chttp.NewClient(onStandby.url(), court)
		checker  = chttp.NewClient(onStandby.url(), airline)
		badShape []string
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c := fmt.Sprintf("RS-%d", i)
			_, err := filer.FileRecord(ctx, judgmentRecord(ric(100+i%50), c))
			_, cerr := checker.Check(ctx, ric(100+i%50), "aviation")
			mu.Lock()
			if err == nil {
				acked = append(acked, c)
			} else {
				refused = append(refused, err)
				if credo.ErrorCode(err) != credo.EUNAVAILABLE {
					badShape = append(badShape, err.Error())
				}
			}
			if cerr == nil {
				checked++
			}
			mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	primary.ctl("-m", "fast", "stop")
	// While the primary is down, a filing is refused with 503, a problem
	// and Retry-After.
	status, hdr, body := rawPost(t, onStandby.url()+"/v1/records", court, `{"subject":"`+ric(5)+`","rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"DOWN-1","decided_at":"2024-03-01","evidence_sha256":"`+digest("DOWN-1")+`"}`)
	if status != 503 || hdr.Get("Retry-After") == "" || hdr.Get("Content-Type") != "application/problem+json" {
		t.Errorf("filing while the primary is down: %d %v %s", status, hdr, body)
	}
	time.Sleep(500 * time.Millisecond)
	primary.ctl("start")
	// The node recovers: filings succeed again.
	for deadline := time.Now().Add(30 * time.Second); ; {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if _, err := filer.FileRecord(ctx, judgmentRecord(ric(7), fmt.Sprintf("AFTER-%d", n))); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node never recovered after the primary restarted:\n%s", onStandby.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(refused) == 0 {
		t.Error("no filing was refused while the primary was down: the restart was not exercised")
	}
	if len(badShape) > 0 {
		t.Errorf("filings refused with something other than 503 unavailable: %v", badShape[:min(3, len(badShape))])
	}
	t.Logf("%d filings acknowledged, %d refused while the primary restarted, %d checks answered", len(acked), len(refused), checked)
	db, err := postgres.Open(ctx, pdsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range acked {
		if _, err := db.RecordByCase(ctx, "court.test", c); err != nil {
			t.Errorf("acknowledged record %s is not in the log: %v", c, err)
		}
	}
	if vr, err := db.Verify(ctx); err != nil || !vr.OK {
		t.Errorf("verify: %+v %v", vr, err)
	}
	sameAnswers(false)
	if errors.Is(ctx.Err(), context.Canceled) {
		t.Fatal("cancelled")
	}
}

// rawPost posts a JSON body with a bearer token and returns the status,
// headers and body.
func rawPost(t *testing.T, url, token, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
