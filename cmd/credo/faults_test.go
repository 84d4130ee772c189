package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	chttp "credo/http"
)

// smallDisk mounts a tmpfs of size (e.g. "3m") on a temporary directory:
// a disk that fills up for real. It needs root; without it the test
// skips (package sqlite's injected faults cover the store's side).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// TestR03IngestFullDisk files a file onto a registry whose disk fills up
// half way: `credo ingest` exits non-zero saying the disk is full (no
// driver message) and which lines are committed; the committed lines are
// exactly those, and once space is back the same command files the rest.
// Before, it exited with the driver's message and said nothing of what
// was committed.
func TestR03IngestFullDisk(t *testing.T) {
	dir := smallDisk(t, "4m")
	db := filepath.Join(dir, "test.db")
	if code, out, errs := runCLI(t, "init", "--db", db, "--policy", "testdata/policy.yaml"); code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errs)
	}
	const n = 40000
	file := filepath.Join(t.TempDir(), "big.csv")
	var b strings.Builder
	b.WriteString("subject,rule,authority,case_ref,decided_at,evidence_sha256,quantity\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s,LATE_UTILITY,utility.water,W%07d,2024-%02d-%02d,%s,%d\n", ric(i), i, 1+i%12, 1+i%28, digest(strconv.Itoa(i)), 1+i%3)
	}
	writeFile(t, file, b.String())

	code, out, errs := runCLI(t, "ingest", "--db", db, "-q", "--batch", "1000", file)
	if code == 0 {
		t.Fatalf("ingest onto a full disk exited 0: %s%s", out, errs)
	}
	if !strings.Contains(errs, "the disk is full") || strings.Contains(strings.ToLower(errs), "sqlite") {
		t.Errorf("the error does not say the disk is full in Credo's words: %s", errs)
	}
	m := regexp.MustCompile(`lines 1-(\d+) are committed`).FindStringSubmatch(errs)
	committed := 0
	if m != nil {
		committed, _ = strconv.Atoi(m[1])
		committed-- // line 1 is the header
	} else if !strings.Contains(errs, "nothing of "+file+" is committed") {
		t.Fatalf("the error does not say what was committed: %s", errs)
	}
	t.Logf("full disk after %d records: %s", committed, strings.TrimSpace(errs))

	// Space returns: the same command files the rest, and finds exactly
	// the lines it said were committed already present.
	if out, err := exec.Command("mount", "-o", "remount,size=256m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	code, out, errs = runCLI(t, "ingest", "--db", db, "-q", "--batch", "1000", file)
	if code != 0 {
		t.Fatalf("ingest after space returned: exit %d %s%s", code, out, errs)
	}
	want := fmt.Sprintf("%d lines: %d filed, %d already present, 0 rejected", n, n-committed, committed)
	if !strings.HasPrefix(out, want) {
		t.Errorf("second run: %q, want %q", out, want)
	}
	if code, out, _ := runCLI(t, "verify", "--db", db); code != 0 {
		t.Errorf("verify: %s", out)
	}
}

// load files records and runs checks (single and batch) against a serving
// node from concurrent clients until stopped, and keeps what the node
// acknowledged: the case refs of records answered 201 and the ids of
// checks answered 200.
type load struct {
	base, court, checker string
	next                 *atomic.Int64 // numbers case refs across rounds
	mu                   sync.Mutex
	records              []string
	checks               []string
	refused              int // answered, but not acknowledged (e.g. 503)
}

func (l *load) refusedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused
}

func (l *load) checkCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.checks)
}

// run starts the clients; the returned func stops them and waits.
func (l *load) run() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func(path, token string, body any) (int, []byte, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", l.base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		return resp.StatusCode, out, err
	}
	loop := func(f func() bool) {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if !f() {
					select { // the node is down: wait for the end of the round
					case <-done:
						return
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
		})
	}
	for range 3 { // filers
		loop(func() bool {
			n := l.next.Add(1)
			ref := fmt.Sprintf("K%08d", n)
			st, body, err := post("/v1/records", l.court, map[string]any{"subject": ric(int(n % 700)), "rule": "JUDGMENT_DEFAULT", "authority": "court.test",
				"case_ref": ref, "decided_at": "2024-01-02", "evidence_sha256": digest(ref)})
			switch {
			case err != nil:
				return false
			case st == http.StatusCreated:
				l.mu.Lock()
				l.records = append(l.records, ref)
				l.mu.Unlock()
			default:
				l.mu.Lock()
				l.refused++
				l.mu.Unlock()
				_ = body
			}
			return true
		})
	}
	for i := range 6 { // checkers, one of them in batches of 10
		loop(func() bool {
			n := int(l.next.Load())
			var ids []string
			if i == 0 {
				subjects := make([]string, 10)
				for j := range subjects {
					subjects[j] = ric((n + j) % 700)
				}
				st, body, err := post("/v1/checks/batch", l.checker, map[string]any{"sector": "aviation", "subjects": subjects})
				if err != nil {
					return false
				}
				var res struct {
					Decisions []struct {
						CheckID string `json:"check_id"`
					} `json:"decisions"`
				}
				if st != http.StatusOK || json.Unmarshal(body, &res) != nil {
					l.mu.Lock()
					l.refused++
					l.mu.Unlock()
					return true
				}
				for _, d := range res.Decisions {
					ids = append(ids, d.CheckID)
				}
			} else {
				st, body, err := post("/v1/checks", l.checker, map[string]any{"sector": "aviation", "subject": ric((n + i) % 700)})
				if err != nil {
					return false
				}
				var res struct {
					CheckID string `json:"check_id"`
				}
				if st != http.StatusOK || json.Unmarshal(body, &res) != nil {
					l.mu.Lock()
					l.refused++
					l.mu.Unlock()
					return true
				}
				ids = append(ids, res.CheckID)
			}
			l.mu.Lock()
			l.checks = append(l.checks, ids...)
			l.mu.Unlock()
			return true
		})
	}
	return func() {
		close(done)
		wg.Wait()
		client.CloseIdleConnections()
	}
}

// assertNothingLost opens the registry (the server stopped) and checks that
// every acknowledged record and check is in it, and the log verifies.
func (l *load) assertNothingLost(t *testing.T, db string) {
	t.Helper()
	ctx := context.Background()
	st, err := openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := st.Verify(ctx)
	if err != nil || !res.OK {
		t.Fatalf("verify: %+v %v", res, err)
	}
	evs, err := st.Events(ctx, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, ev := range evs {
		if ev.Record != nil {
			stored[ev.Record.CaseRef] = true
		}
	}
	lostRecords := 0
	for _, ref := range l.records {
		if !stored[ref] {
			lostRecords++
			if lostRecords <= 5 {
				t.Errorf("record %s acknowledged (201) but not in the registry", ref)
			}
		}
	}
	lostChecks := 0
	for _, id := range l.checks {
		if _, err := st.Check(ctx, id); err != nil {
			lostChecks++
			if lostChecks <= 5 {
				t.Errorf("check %s answered (200) but not in the check log: %v", id, err)
			}
		}
	}
	t.Logf("acknowledged: %d records (%d lost), %d checks (%d lost); %d requests refused", len(l.records), lostRecords, len(l.checks), lostChecks, l.refused)
}

// faultRounds is how many times the fault tests kill the server: a few by
// default (`make test`, CI), CREDO_FAULT_ROUNDS for more (`make faults`).
func faultRounds(t *testing.T, short int) int {
	if s := os.Getenv("CREDO_FAULT_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CREDO_FAULT_ROUNDS=%q", s)
		}
		return n
	}
	return short
}

// newLoad makes a registry with a court and a checker token and the load
// that uses them against addr.
func newLoad(t *testing.T, addr string) (string, *load) {
	db := newRegistry(t)
	court := strings.TrimSpace(mustRun(t, "token", "create", "--db", db, "--role", "authority", "--authority", "court.test"))
	checker := strings.TrimSpace(mustRun(t, "token", "create", "--db", db, "--role", "checker", "--sector", "aviation", "--name", "Test Air"))
	return db, &load{base: "http://" + addr, court: court, checker: checker, next: new(atomic.Int64)}
}

// TestR01KillServeLosesNothing is the fault-injection test of serving:
// `credo serve` is killed with SIGKILL at random points under concurrent
// filing and checking, and restarted; after the last kill every record
// acknowledged (201) and every check answered (200) is in the registry,
// and GET /v1/checks/{id} finds the checks. Before, kill -9 lost the
// checks answered in the last 50 ms (up to 65,536).
func TestR01KillServeLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("runs server subprocesses")
	}
	addr := freeAddr(t)
	db, l := newLoad(t, addr)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 15))
	rounds := faultRounds(t, 3)
	for round := range rounds {
		srv := startServer(t, db, addr)
		stop := l.run()
		time.Sleep(time.Duration(100+rng.IntN(900)) * time.Millisecond)
		kill(t, srv)
		stop()
		t.Logf("round %d: killed; %d records and %d checks acknowledged so far", round+1, len(l.records), len(l.checks))
	}
	if len(l.checks) == 0 || len(l.records) == 0 {
		t.Fatalf("the load was never acknowledged: %d records, %d checks", len(l.records), len(l.checks))
	}
	l.assertNothingLost(t, db)
	// And through the API: the node that restarts answers GET
	// /v1/checks/{id} for checks answered before the kill.
	admin := strings.TrimSpace(mustRun(t, "token", "create", "--db", db, "--role", "admin"))
	srv := startServer(t, db, addr)
	defer kill(t, srv)
	c := chttp.NewClient(l.base, admin)
	for i := 0; i < len(l.checks); i += max(1, len(l.checks)/100) {
		if _, err := c.Replay(context.Background(), l.checks[i]); err != nil {
			t.Errorf("GET /v1/checks/%s after the restart: %v", l.checks[i], err)
		}
	}
}
