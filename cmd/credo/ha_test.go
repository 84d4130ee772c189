package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"credo/postgres"
)

// envPGAF asks for the pg_auto_failover test outside CI (it starts three
// PostgreSQL instances and takes about a minute); CI always runs it.
const envPGAF = "CREDO_TEST_PGAF"

// pgafFormation is a pg_auto_failover formation of docs/ha.md on loopback
// ports: a monitor and two Postgres nodes, each run by its own `pg_autoctl
// create ... --run` as the postgres user, in a process group of its own so
// that a test can kill a whole node (keeper and postmaster) at once.
type pgafFormation struct {
	t       *testing.T
	base    string
	monitor int    // the monitor's port
	ports   [2]int // the nodes' ports
	procs   []*exec.Cmd
	logs    []string // each process's log file
	pgroups map[int]int
}

// pgAutoFailover starts a formation and waits until one node is primary
// and the other its synchronous secondary. It skips (fails in CI) when
// pg_auto_failover is not installed.
func pgAutoFailover(t *testing.T) *pgafFormation {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a pg_auto_failover formation")
	}
	if os.Getenv(envPGAF) == "" && os.Getenv("CI") == "" {
		t.Skipf("set %s=1 to run the pg_auto_failover test (it takes about a minute)", envPGAF)
	}
	bin := pgBin(t)
	if _, err := exec.LookPath("pg_autoctl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("pg_autoctl is missing: CI must install postgresql-15-auto-failover (see .ci/run)")
		}
		t.Skip("pg_autoctl is missing (apt-get install postgresql-15-auto-failover)")
	}
	base, err := os.MkdirTemp("", "credo-pgaf-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "postgres:postgres", base).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	os.Chmod(base, 0o755)
	f := &pgafFormation{t: t, base: base, monitor: freePort(t), ports: [2]int{freePort(t), freePort(t)}, pgroups: map[int]int{}}
	t.Cleanup(func() {
		for _, p := range f.procs {
			if p.ProcessState == nil {
				syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
				p.Wait()
			}
		}
		if t.Failed() {
			for _, l := range f.logs {
				b, _ := os.ReadFile(l)
				if len(b) > 4000 {
					b = b[len(b)-4000:]
				}
				t.Logf("--- %s (tail)\n%s", filepath.Base(l), b)
			}
		}
		os.RemoveAll(base)
	})
	env := []string{"PATH=" + bin + ":/usr/bin:/bin", "PG_CONFIG=" + filepath.Join(bin, "pg_config"),
		"XDG_CONFIG_HOME=" + filepath.Join(base, "config"), "XDG_DATA_HOME=" + filepath.Join(base, "data"), "HOME=" + base}
	run := func(name string, args ...string) *exec.Cmd {
		logf := filepath.Join(base, name+".log")
		out, err := os.Create(logf)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		cmd := exec.Command("runuser", append(append([]string{"-u", "postgres", "--", "env"}, env...), append([]string{"pg_autoctl"}, args...)...)...)
		cmd.Stdout, cmd.Stderr = out, out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		f.procs = append(f.procs, cmd)
		f.logs = append(f.logs, logf)
		return cmd
	}
	common := []string{"--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl", "--run"}
	run("monitor", append([]string{"create", "monitor", "--pgdata", filepath.Join(base, "monitor"), "--pgport", fmt.Sprint(f.monitor)}, common...)...)
	mon := f.waitConn(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/pg_auto_failover?sslmode=disable", f.monitor), "SELECT 1 FROM pgautofailover.formation")
	defer mon.Close(context.Background())
	// Failure detection and the wait for the old primary to demote itself
	// in seconds rather than the production defaults' 20 s and 30 s
	// (docs/ha.md): the test waits less, the protocol is the same.
	for _, s := range []string{"health_check_period = 1000", "health_check_timeout = 1000", "health_check_max_retries = 1",
		"health_check_retry_delay = 500", "node_considered_unhealthy_timeout = 3000", "primary_demote_timeout = 5000"} {
		if _, err := mon.Exec(context.Background(), "ALTER SYSTEM SET pgautofailover."+s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mon.Exec(context.Background(), "SELECT pg_reload_conf()"); err != nil {
		t.Fatal(err)
	}
	monitorURI := fmt.Sprintf("postgres://autoctl_node@127.0.0.1:%d/pg_auto_failover?sslmode=disable", f.monitor)
	for i, port := range f.ports {
		name := fmt.Sprintf("node%d", i+1)
		p := run(name, append([]string{"create", "postgres", "--pgdata", filepath.Join(base, name), "--pgport", fmt.Sprint(port),
			"--dbname", "credo", "--name", name, "--monitor", monitorURI}, common...)...)
		f.pgroups[port] = p.Process.Pid
		if i == 0 {
			f.waitStates(mon, map[int]string{port: "single"}, 90*time.Second, nil)
		}
	}
	// The standby's pg_basebackup waits for a checkpoint on the primary:
	// ask for one while waiting, rather than wait for checkpoint_timeout.
	nudge := func() {
		if c, err := pgx.Connect(context.Background(), f.dsn(f.ports[0], "postgres")); err == nil {
			c.Exec(context.Background(), "CHECKPOINT")
			c.Close(context.Background())
		}
	}
	f.waitStates(mon, map[int]string{f.ports[0]: "primary", f.ports[1]: "secondary"}, 120*time.Second, nudge)
	return f
}

func (f *pgafFormation) dsn(port int, db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, db)
}

// multiDSN is what serving nodes use: both nodes, and only a read-write
// session will do, so a connection always lands on the current primary.
func (f *pgafFormation) multiDSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/%s?sslmode=disable&target_session_attrs=read-write", f.ports[0], f.ports[1], db)
}

// waitConn connects to dsn once query succeeds there.
func (f *pgafFormation) waitConn(dsn, query string) *pgx.Conn {
	f.t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(90 * time.Second); ; {
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			if _, err = c.Exec(ctx, query); err == nil {
				return c
			}
			c.Close(ctx)
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s never answered: %v", dsn, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// states returns each node's state as the monitor has it (reported and
// assigned), by port.
func (f *pgafFormation) states(mon *pgx.Conn) (map[int][2]string, error) {
	rows, err := mon.Query(context.Background(), "SELECT nodeport, reportedstate::text, goalstate::text FROM pgautofailover.node")
	if err != nil {
		return nil, err
	}
	out := map[int][2]string{}
	for rows.Next() {
		var port int
		var rep, goal string
		if err := rows.Scan(&port, &rep, &goal); err != nil {
			return nil, err
		}
		out[port] = [2]string{rep, goal}
	}
	return out, rows.Err()
}

// waitStates polls the monitor until every node in want reports (and is
// assigned) its state, calling tick between polls.
func (f *pgafFormation) waitStates(mon *pgx.Conn, want map[int]string, timeout time.Duration, tick func()) {
	f.t.Helper()
	var last map[int][2]string
	for deadline, n := time.Now().Add(timeout), 0; ; n++ {
		st, err := f.states(mon)
		ok := err == nil
		for port, s := range want {
			ok = ok && st[port] == [2]string{s, s}
		}
		if ok {
			return
		}
		last = st
		if time.Now().After(deadline) {
			f.t.Fatalf("the formation never reached %v: %v (%v)", want, last, err)
		}
		if tick != nil && n%10 == 9 {
			tick()
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// kill kills the node on port, keeper and Postgres alike (SIGKILL to its
// process group): the machine is gone.
func (f *pgafFormation) kill(port int) {
	f.t.Helper()
	if err := syscall.Kill(-f.pgroups[port], syscall.SIGKILL); err != nil {
		f.t.Fatal(err)
	}
}

// haLoad files records and runs checks (single and in batches) against a
// serving node until stopped, and keeps what the node acknowledged (records
// answered 201, checks answered 200), how many requests it refused with
// 503 and Retry-After, and any other answer, which is a failure.
type haLoad struct {
	base, court, checker string
	next                 atomic.Int64
	mu                   sync.Mutex
	records, checks      []string
	refused              int       // 503 problem+json with Retry-After
	firstRefused         time.Time // the first and last of them
	lastRefused          time.Time
	acks                 []time.Time // when each acknowledgement arrived
	bad                  []string    // any other answer, or no answer
}

func (l *haLoad) run() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func(path, token string, body any, ok int) []byte {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", l.base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			l.mu.Lock()
			l.bad = append(l.bad, fmt.Sprintf("%s: %v", path, err))
			l.mu.Unlock()
			return nil
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		l.mu.Lock()
		defer l.mu.Unlock()
		switch {
		case err == nil && resp.StatusCode == ok:
			l.acks = append(l.acks, time.Now())
			return out
		case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" && resp.Header.Get("Content-Type") == "application/problem+json":
			if l.refused == 0 {
				l.firstRefused = time.Now()
			}
			l.refused++
			l.lastRefused = time.Now()
			l.mu.Unlock()
			time.Sleep(50 * time.Millisecond) // a client backs off (less than Retry-After asks, to probe the outage often)
			l.mu.Lock()
		default:
			l.bad = append(l.bad, fmt.Sprintf("%s: %d Retry-After=%q %s %v", path, resp.StatusCode, resp.Header.Get("Retry-After"), out, err))
		}
		return nil
	}
	loop := func(f func()) {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				f()
			}
		})
	}
	for range 3 { // filers
		loop(func() {
			n := l.next.Add(1)
			ref := fmt.Sprintf("HA%08d", n)
			if post("/v1/records", l.court, map[string]any{"subject": ric(int(n % 500)), "rule": "JUDGMENT_DEFAULT", "authority": "court.test",
				"case_ref": ref, "decided_at": "2024-01-02", "evidence_sha256": digest(ref)}, http.StatusCreated) != nil {
				l.mu.Lock()
				l.records = append(l.records, ref)
				l.mu.Unlock()
			}
		})
	}
	for i := range 4 { // checkers, one of them in batches of 10
		loop(func() {
			n := int(l.next.Load())
			var ids []string
			if i == 0 {
				subjects := make([]string, 10)
				for j := range subjects {
					subjects[j] = ric((n + j) % 500)
				}
				var res struct {
					Decisions []struct {
						CheckID string `json:"check_id"`
					} `json:"decisions"`
				}
				if b := post("/v1/checks/batch", l.checker, map[string]any{"sector": "aviation", "subjects": subjects}, http.StatusOK); b == nil || json.Unmarshal(b, &res) != nil {
					return
				}
				for _, d := range res.Decisions {
					ids = append(ids, d.CheckID)
				}
			} else {
				var res struct {
					CheckID string `json:"check_id"`
				}
				if b := post("/v1/checks", l.checker, map[string]any{"sector": "aviation", "subject": ric((n + i) % 500)}, http.StatusOK); b == nil || json.Unmarshal(b, &res) != nil {
					return
				}
				ids = append(ids, res.CheckID)
			}
			l.mu.Lock()
			l.checks = append(l.checks, ids...)
			l.mu.Unlock()
		})
	}
	return func() {
		close(done)
		wg.Wait()
		client.CloseIdleConnections()
	}
}

func (l *haLoad) counts() (records, checks, refused int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.records), len(l.checks), l.refused
}

// TestR09Failover is the high availability of docs/ha.md: a serving node
// on a pg_auto_failover formation (primary and synchronous standby),
// connected with a multi-host DSN (target_session_attrs=read-write), under
// concurrent filing and checking; the primary's machine dies (keeper and
// Postgres killed). During the failover the node answers 503 with
// Retry-After and nothing else; once the standby is promoted it serves
// again without a restart; every record and check it acknowledged, before
// and during the failover, is on the promoted node (synchronous
// replication), and `credo verify` passes there across the failover.
func TestR09Failover(t *testing.T) {
	f := pgAutoFailover(t)
	dsn := f.multiDSN("credo")
	t.Setenv(envPostgres, "")
	mustRun(t, "init", "--postgres", dsn, "--policy", "testdata/policy.yaml")
	court := strings.TrimSpace(mustRun(t, "token", "create", "--postgres", dsn, "--role", "authority", "--authority", "court.test"))
	checker := strings.TrimSpace(mustRun(t, "token", "create", "--postgres", dsn, "--role", "checker", "--sector", "aviation", "--name", "Test Air"))
	srv := &node{t: t, addr: freeAddr(t), args: []string{"--postgres", dsn}}
	srv.start()
	pid := srv.cmd.Process.Pid

	mon := f.waitConn(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/pg_auto_failover?sslmode=disable", f.monitor), "SELECT 1")
	defer mon.Close(context.Background())
	// The primary commits only once the standby has the WAL.
	pc, err := pgx.Connect(context.Background(), f.dsn(f.ports[0], "credo"))
	if err != nil {
		t.Fatal(err)
	}
	var names, commit string
	pc.QueryRow(context.Background(), "SELECT current_setting('synchronous_standby_names'), current_setting('synchronous_commit')").Scan(&names, &commit)
	pc.Close(context.Background())
	if names == "" || commit != "on" {
		t.Fatalf("the primary does not replicate synchronously: synchronous_standby_names=%q synchronous_commit=%q", names, commit)
	}

	l := &haLoad{base: srv.url(), court: court, checker: checker}
	stop := l.run()
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	waitLoad := func(what string, cond func(r, c, x int) bool, timeout time.Duration) {
		t.Helper()
		for deadline := time.Now().Add(timeout); ; {
			if r, c, x := l.counts(); cond(r, c, x) {
				return
			}
			if time.Now().After(deadline) {
				r, c, x := l.counts()
				logs := srv.logs.String()
				t.Fatalf("%s: %d records, %d checks acknowledged, %d refused\nthe node's log (tail):\n%s", what, r, c, x, logs[max(0, len(logs)-4000):])
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitLoad("the load never got going", func(r, c, _ int) bool { return r >= 200 && c >= 500 }, 60*time.Second)

	// The primary's machine dies.
	r0, c0, _ := l.counts()
	killed := time.Now()
	f.kill(f.ports[0])
	// Meanwhile /readyz is watched: it must say the node is not ready.
	var notReady atomic.Int64
	watchDone := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-watchDone:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if resp, err := http.Get(srv.url() + "/readyz"); err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" && len(body) > 0 {
					notReady.Add(1)
				}
			}
		}
	}()
	// The node refuses while there is no primary...
	waitLoad("no request was refused after the primary died", func(_, _, x int) bool { return x > 0 }, 60*time.Second)
	// ...the monitor promotes the standby...
	f.waitStates(mon, map[int]string{f.ports[1]: "wait_primary"}, 90*time.Second, nil)
	promoted := time.Now()
	// ...and the same node serves again, filing and checking.
	r1, c1, x1 := l.counts()
	waitLoad("the node never recovered after the failover", func(r, c, _ int) bool { return r >= r1+200 && c >= c1+500 }, 90*time.Second)
	stop()
	stop = nil
	close(watchDone)
	<-watched
	if notReady.Load() == 0 {
		t.Error("/readyz never answered 503 during the failover")
	}
	if srv.cmd.ProcessState != nil || srv.cmd.Process.Pid != pid {
		t.Fatalf("the serving node did not survive the failover: %v", srv.cmd.ProcessState)
	}
	var recovered time.Time // the first acknowledgement after the last refusal
	for _, a := range l.acks {
		if a.After(l.lastRefused) && (recovered.IsZero() || a.Before(recovered)) {
			recovered = a
		}
	}
	if st, _ := readyz(t, srv.url()); st != http.StatusOK {
		t.Errorf("/readyz after the failover: %d", st)
	}
	if len(l.bad) > 0 {
		t.Errorf("%d answers during the failover were neither acknowledged nor 503 with Retry-After, e.g.:\n%s", len(l.bad), strings.Join(l.bad[:min(5, len(l.bad))], "\n"))
	}

	// Nothing acknowledged is lost: every record and check is on the
	// promoted node, and the log verifies there across the failover.
	ctx := context.Background()
	st, err := postgres.Open(ctx, f.dsn(f.ports[1], "credo"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lostRecords, lostChecks := 0, 0
	for _, ref := range l.records {
		if _, err := st.RecordByCase(ctx, "court.test", ref); err != nil {
			if lostRecords++; lostRecords <= 5 {
				t.Errorf("record %s acknowledged (201) but not on the promoted node: %v", ref, err)
			}
		}
	}
	for _, id := range l.checks {
		if _, err := st.Check(ctx, id); err != nil {
			if lostChecks++; lostChecks <= 5 {
				t.Errorf("check %s answered (200) but not on the promoted node: %v", id, err)
			}
		}
	}
	if code, out, errs := runCLI(t, "verify", "--postgres", dsn); code != 0 {
		t.Errorf("verify after the failover: exit %d\n%s%s", code, out, errs)
	}
	t.Logf("acknowledged %d records (%d before the kill; %d lost) and %d checks (%d before the kill; %d lost); %d requests refused with 503 + Retry-After (%d of them before the monitor showed the promotion), the first %v and the last %v after the kill; the monitor showed the standby promoted %v after the kill, the node acknowledged again %v after the kill; /readyz answered 503 %d times (polled every 100 ms); synchronous_standby_names %s",
		len(l.records), r0, lostRecords, len(l.checks), c0, lostChecks, l.refused, x1,
		l.firstRefused.Sub(killed).Round(time.Millisecond), l.lastRefused.Sub(killed).Round(time.Millisecond),
		promoted.Sub(killed).Round(time.Millisecond), recovered.Sub(killed).Round(time.Millisecond), notReady.Load(), names)
}
