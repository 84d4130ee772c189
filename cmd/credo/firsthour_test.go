package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"credo"
)

// startServe runs `credo serve` on a free port and returns its base URL
// once /readyz answers 200, and the server's stderr so far (on stop).
func startServe(t *testing.T, db string, extra ...string) (base string, stop func() string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var out, errb syncBuffer
	go func() {
		done <- run(ctx, append([]string{"serve", "--db", db, "--addr", addr}, extra...), strings.NewReader(""), &out, &errb)
	}()
	base = "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/readyz"); err == nil && resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		if i > 400 {
			cancel()
			<-done
			t.Fatalf("server never became ready:\n%s", errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return base, func() string {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d:\n%s", code, errb.String())
		}
		return errb.String()
	}
}

// TestF02AtKnownMeanTheSame: --at alone means "what applies at T by
// everything known now" in simulate as in check (it used to mean "as known
// at T" in simulate only, giving an empty report), --known is accepted by
// every command, and a report empty because nothing was known yet warns.
func TestF02AtKnownMeanTheSame(t *testing.T) {
	db := newRegistry(t)
	file := filepath.Join(t.TempDir(), "r.ndjson")
	writeFile(t, file, fmt.Sprintf(`{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"R1","decided_at":"2024-01-02","evidence_sha256":%q}
`, ric(7), digest("r1")))
	mustRun(t, "ingest", "--db", db, file)
	// Everything was recorded today; 2025-06-01 is long after the
	// record's decision and before today.
	at := "2025-06-01"
	check := mustRun(t, "check", "--db", db, ric(7), "aviation", "--at", at)
	if !strings.Contains(check, "DENY") {
		t.Fatalf("check --at %s (known now) should deny:\n%s", at, check)
	}
	// The draft drops the flight ban: at the same --at, with the same
	// knowledge, the simulation must see the subject change.
	draft := filepath.Join(t.TempDir(), "draft.yaml")
	src := string(readFile(t, "testdata/policy.yaml"))
	src = strings.Replace(src, "effect: deny,", "effect: limit, params: {max_mbps: 2},", 1)
	writeFile(t, draft, src)
	code, out, errs := runCLI(t, "simulate", "--db", db, "--policy", draft, "--at", at, "--json")
	if code != 0 {
		t.Fatalf("simulate: exit %d\n%s%s", code, out, errs)
	}
	var rep struct {
		Changed  int       `json:"changed"`
		Known    time.Time `json:"known"`
		Warnings []string  `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Changed != 1 {
		t.Errorf("simulate --at %s changed %d subjects, want 1 (the one check denies at that instant)\n%s", at, rep.Changed, errs)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings on a full report: %q", rep.Warnings)
	}
	// --at and --known are documented alike in every command's help.
	for _, c := range []string{"check", "show", "simulate"} {
		help := mustRun(t, c, "--help")
		if !strings.Contains(help, "--known") || !strings.Contains(help, "only events recorded by K count (default") {
			t.Errorf("%s --help does not say what --at and --known mean:\n%s", c, help)
		}
	}
	// A --known before anything was known is refused with the reason, in
	// every command, not answered "no policy in force" or with an empty
	// report.
	for _, args := range [][]string{
		{"check", "--db", db, ric(7), "aviation", "--at", at, "--known", at},
		{"show", "--db", db, ric(7), "--at", at, "--known", at},
		{"simulate", "--db", db, "--policy", draft, "--at", at, "--known", at},
	} {
		code, out, errs := runCLI(t, args...)
		if code == 0 || !strings.Contains(errs, "nothing was known yet at 2025-06-01") {
			t.Errorf("%v: exit %d, want the reason nothing was known\n%s%s", args, code, out, errs)
		}
	}
}

// TestF02BeforeAnyPolicy: an --at before any policy takes effect says
// when the first does.
func TestF02BeforeAnyPolicy(t *testing.T) {
	db := newRegistry(t)
	code, out, errs := runCLI(t, "check", "--db", db, ric(7), "aviation", "--at", "2019-06-01")
	if code == 0 || !strings.Contains(errs, "no policy was in force yet at 2019-06-01T00:00:00+08:00: the first takes effect at 2020-01-01T00:00:00+08:00") {
		t.Errorf("check --at before the first policy: exit %d\n%s%s", code, out, errs)
	}
}

// TestF02EmptyReportWarns: a simulation whose knowledge instant precedes
// every record warns that its report is empty for that reason.
func TestF02EmptyReportWarns(t *testing.T) {
	db := newRegistry(t)
	file := filepath.Join(t.TempDir(), "r.ndjson")
	writeFile(t, file, fmt.Sprintf(`{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"R1","decided_at":"2024-01-02","evidence_sha256":%q}
`, ric(7), digest("r1")))
	// The policy was published now, the record a moment later: a --known
	// between the two sees a policy and no record.
	published := time.Now()
	time.Sleep(20 * time.Millisecond)
	mustRun(t, "ingest", "--db", db, file)
	draft := filepath.Join(t.TempDir(), "draft.yaml")
	writeFile(t, draft, strings.Replace(string(readFile(t, "testdata/policy.yaml")), "effect: deny,", "effect: limit, params: {max_mbps: 2},", 1))
	known := published.Add(10 * time.Millisecond).Format(time.RFC3339Nano)
	code, out, errs := runCLI(t, "simulate", "--db", db, "--policy", draft, "--known", known)
	if code != 0 || !strings.Contains(errs, "warning: nothing was known yet") || !strings.Contains(out, "WARNING: nothing was known yet") {
		t.Fatalf("simulate --known before the first record: exit %d, want a warning\n%s%s", code, out, errs)
	}
}

// TestF04ServerDatesInPolicyZone: `show --server` prints the same dates
// as `show --db` (the policy's time zone, named), not UTC ones a day
// earlier.
func TestF04ServerDatesInPolicyZone(t *testing.T) {
	db := newRegistry(t)
	admin := strings.TrimSpace(mustRun(t, "token", "create", "--db", db, "--role", "admin"))
	airline := strings.TrimSpace(mustRun(t, "token", "create", "--db", db, "--role", "checker", "--sector", "aviation"))
	file := filepath.Join(t.TempDir(), "r.ndjson")
	// Decided at 00:30 in Beijing: the day before in UTC.
	writeFile(t, file, fmt.Sprintf(`{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"R1","decided_at":"2024-03-05T00:30:00+08:00","evidence_sha256":%q}
`, ric(7), digest("r1")))
	mustRun(t, "ingest", "--db", db, file)
	local := mustRun(t, "show", "--db", db, ric(7))
	base, stop := startServe(t, db)
	defer stop()
	remote := mustRun(t, "show", "--server", base, "--token", admin, ric(7))
	rec := regexp.MustCompile(`(?m)^\d+\s+JUDGMENT_DEFAULT.*$`)
	if l, r := rec.FindString(local), rec.FindString(remote); l == "" || l != r || !strings.Contains(l, "2024-03-05") {
		t.Errorf("record line differs:\n--db:     %q\n--server: %q", l, r)
	}
	for _, out := range []string{local, remote} {
		if !strings.Contains(out, "Asia/Shanghai") {
			t.Errorf("show does not name the time zone:\n%s", out)
		}
	}
	lc := mustRun(t, "check", "--db", db, ric(7), "aviation")
	rc := mustRun(t, "check", "--server", base, "--token", airline, ric(7), "aviation")
	if lc != rc {
		t.Errorf("check differs:\n--db:\n%s--server:\n%s", lc, rc)
	}
}

// TestF05SmallThings: --version, named missing arguments, a missing
// policy file, init on an existing registry, errors without Go names.
func TestF05SmallThings(t *testing.T) {
	if code, out, _ := runCLI(t, "--version"); code != 0 || !strings.HasPrefix(out, "credo "+credo.Version()) {
		t.Errorf("--version: exit %d %q", code, out)
	}
	db := newRegistry(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--db", db}, "missing SUBJECT SECTOR"},
		{[]string{"check", "--db", db, ric(1)}, "missing SECTOR"},
		{[]string{"show", "--db", db}, "missing SUBJECT"},
		{[]string{"dispute", "decide", "--db", db}, "missing DISPUTE"},
	} {
		code, out, errs := runCLI(t, c.args...)
		if code == 0 || !strings.Contains(errs, c.want) || strings.Contains(errs, "arg(s)") {
			t.Errorf("%v: exit %d, want %q\n%s%s", c.args, code, c.want, out, errs)
		}
	}
	missing := filepath.Join(t.TempDir(), "nosuch.yaml")
	code, out, errs := runCLI(t, "policy", "lint", missing)
	if code != 1 || !strings.Contains(out, missing+": the file does not exist") || strings.Contains(out, ":0:") || strings.Contains(out+errs, "policy.Load") {
		t.Errorf("lint of a missing file: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "init", "--db", db, "--policy", "testdata/policy.yaml")
	if code != 0 || !strings.Contains(out, "nothing published") || strings.Contains(out, "published policy") {
		t.Errorf("init again: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "dispute", "decide", "--db", db, "57", "--outcome", "upheld", "--reason", "x", "--authority", "court.test")
	if code != 1 || !strings.Contains(errs, "dispute 57 not found") || strings.Contains(errs, "sqlite.") {
		t.Errorf("unknown dispute: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "repair", "decide", "--db", db, "77", "--approve", "--reason", "x", "--authority", "court.test")
	if code != 1 || !strings.Contains(errs, "repair application 77 not found") || strings.Contains(errs, "sqlite.") {
		t.Errorf("unknown repair application: exit %d\n%s%s", code, out, errs)
	}
	// The version in /healthz.
	base, stop := startServe(t, db)
	defer stop()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h map[string]string
	json.NewDecoder(resp.Body).Decode(&h)
	if h["version"] != credo.Version() || h["version"] == "" {
		t.Errorf("/healthz version %q, want %q", h["version"], credo.Version())
	}
	// token create --help suggests only sectors the example policy has.
	help := mustRun(t, "token", "create", "--help")
	if strings.Contains(help, "--sector rail ") {
		t.Errorf("token create --help suggests an unknown sector:\n%s", help)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in
// different goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestF03BusyAddressFirst: a busy --addr is reported before any slow
// set-up: before the registry is opened (serve) or the city seeded (demo).
func TestF03BusyAddressFirst(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := t.TempDir()
	code, out, errs := runCLI(t, "serve", "--db", filepath.Join(dir, "none.db"), "--addr", l.Addr().String())
	if code == 0 || !strings.Contains(errs, "--addr: cannot listen on "+l.Addr().String()) {
		t.Errorf("serve on a busy address: exit %d, want the address reported first\n%s%s", code, out, errs)
	}
	demoDB := filepath.Join(dir, "demo.db")
	code, out, errs = runCLI(t, "demo", "--db", demoDB, "--addr", l.Addr().String(), "--people", "100", "--orgs", "10")
	if code == 0 || !strings.Contains(errs, "--addr: cannot listen") {
		t.Errorf("demo on a busy address: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(demoDB); err == nil {
		t.Errorf("the demo seeded its city before finding its address busy")
	}
}

// TestF03ReadyMeansReady: the census behind the public lists and the
// dashboard is built before the server answers, and the start-up says
// what it is doing.
func TestF03ReadyMeansReady(t *testing.T) {
	db := newRegistry(t)
	_, stop := startServe(t, db)
	logs := stop()
	var order []string
	for _, line := range strings.Split(logs, "\n") {
		var m struct{ Msg string }
		if json.Unmarshal([]byte(line), &m) == nil && m.Msg != "" {
			order = append(order, m.Msg)
		}
	}
	idx := func(prefix string) int {
		for i, m := range order {
			if strings.HasPrefix(m, prefix) {
				return i
			}
		}
		return -1
	}
	bound, table, census, serving := idx("starting: address bound"), idx("starting: loading or building the decision table"), idx("starting: census built"), idx("serving")
	if bound < 0 || table < 0 || census < 0 || serving < 0 || !(bound < table && table < census && census < serving) {
		t.Errorf("start-up order: bound %d, table %d, census %d, serving %d, want increasing:\n%s", bound, table, census, serving, strings.Join(order, "\n"))
	}
}
