package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"credo/ingest"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func csvLine(subject, rule, authority, caseRef, decided, evidence string) string {
	return strings.Join([]string{subject, rule, authority, caseRef, decided, evidence}, ",")
}

func TestIngestBadInput(t *testing.T) {
	db := newRegistry(t)
	dir := t.TempDir()
	good := func(i int) string {
		return csvLine(ric(i), "JUDGMENT_DEFAULT", "court.test", fmt.Sprintf("(2024)test%d", i), "2024-03-01", digest(strconv.Itoa(i)))
	}
	lines := []string{
		"subject,rule,authority,case_ref,decided_at,evidence_sha256", // 1
		good(1), // 2
		csvLine("110105194912310021", "JUDGMENT_DEFAULT", "court.test", "c3", "2024-03-01", digest("3")),  // 3 bad identifier
		csvLine(ric(4), "NO_SUCH_RULE", "court.test", "c4", "2024-03-01", digest("4")),                    // 4 unknown rule
		csvLine(ric(5), "JUDGMENT_DEFAULT", "utility.water", "c5", "2024-03-01", digest("5")),             // 5 unauthorised authority
		csvLine(ric(6), "JUDGMENT_DEFAULT", "court.test", "c6", "2024-13-01", digest("6")),                // 6 bad date
		csvLine(ric(7), "JUDGMENT_DEFAULT", "court.test", "c7", "2024-03-01", ""),                         // 7 missing value
		csvLine(ric(8), "JUDGMENT_DEFAULT", "court.test", "c8", "2024-03-01", digest("8")) + ",extra",     // 8 wrong column count
		csvLine(ric(9), "JUDGMENT_DEFAULT", "court.test", "c9\xff", "2024-03-01", digest("9")),            // 9 invalid UTF-8
		csvLine(ric(10), "JUDGMENT_DEFAULT", "court.test", strings.Repeat("x", 10<<20), "2024-03-01", ""), // 10 a 10 MB line
		good(11), // 11
		csvLine(ric(12), "JUDGMENT_DEFAULT", "court.test", "c12", "2024-03-01", "abc"), // 12 bad digest
		good(13), // 13
	}
	file := filepath.Join(dir, "mixed.csv")
	writeFile(t, file, strings.Join(lines, "\n")+"\n")
	errFile := filepath.Join(dir, "errors.ndjson")

	code, out, stderr := runCLI(t, "ingest", "--db", db, "--errors", errFile, "-q", file)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (lines rejected)\n%s%s", code, out, stderr)
	}
	if !strings.Contains(out, "3 filed, 0 already present, 9 rejected") {
		t.Errorf("summary: %s", out)
	}
	want := map[int]string{3: "subject", 4: "rule", 5: "authority", 6: "decided_at", 7: "evidence_sha256", 8: "", 9: "", 10: "", 12: "evidence_sha256"}
	f, err := os.Open(errFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[int]ingest.LineError{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var le ingest.LineError
		if err := json.Unmarshal(sc.Bytes(), &le); err != nil {
			t.Fatal(err)
		}
		got[le.Line] = le
	}
	for line, field := range want {
		le, ok := got[line]
		if !ok {
			t.Errorf("line %d not reported", line)
			continue
		}
		if le.Field != field {
			t.Errorf("line %d: field %q, want %q (%s)", line, le.Field, field, le.Reason)
		}
		if le.File != file || le.Reason == "" {
			t.Errorf("line %d: file %q reason %q", line, le.File, le.Reason)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d lines reported, want %d: %v", len(got), len(want), got)
	}
	for _, s := range []string{"wrong number of columns: 7, the header has 6", "not valid UTF-8", "longer than", "check character is 1, expected X", "may not file rule JUDGMENT_DEFAULT"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q", s)
		}
	}

	// Running the same file again changes nothing.
	code, out, _ = runCLI(t, "ingest", "--db", db, "-q", file)
	if code != 1 || !strings.Contains(out, "0 filed, 3 already present, 9 rejected") {
		t.Errorf("second run: exit %d: %s", code, out)
	}
	if code, out, _ := runCLI(t, "verify", "--db", db); code != 0 {
		t.Errorf("verify after ingest: %s", out)
	}
}

func TestIngestConflict(t *testing.T) {
	db := newRegistry(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "a.ndjson")
	writeFile(t, file, fmt.Sprintf(`{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"K1","decided_at":"2024-01-02","evidence_sha256":%q}
{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"K1","decided_at":"2024-01-03","evidence_sha256":%q}
{"subject":%q,"rule":"LATE_UTILITY","authority":"utility.water","case_ref":"W1","decided_at":"2024-01-02T10:00:00+08:00","evidence_sha256":%q,"quantity":2}
{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"K2","decided_at":"2024-01-02","evidence_sha256":%q,"bogus":1}
`, ric(1), digest("a"), ric(1), digest("a"), ric(2), digest("b"), ric(3), digest("c")))
	code, out, stderr := runCLI(t, "ingest", "--db", db, "-q", file)
	if code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	if !strings.Contains(out, "2 filed, 0 already present, 2 rejected") {
		t.Errorf("summary: %s", out)
	}
	if !strings.Contains(stderr, file+":2: case_ref:") || !strings.Contains(stderr, "conflicts") {
		t.Errorf("conflict not reported on line 2: %s", stderr)
	}
	if !strings.Contains(stderr, file+`:4: bogus: unknown field "bogus"`) {
		t.Errorf("unknown field not reported on line 4: %s", stderr)
	}
}

// TestIngestCrash kills `credo ingest` with SIGKILL at random points and
// proves that every batch it reported as committed is present, nothing is
// half-applied, the chain verifies, and a re-run completes the file without
// duplicates.
func TestIngestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs subprocesses")
	}
	db := newRegistry(t)
	dir := t.TempDir()
	const n, batch = 60000, 2000
	file := filepath.Join(dir, "big.csv")
	var b strings.Builder
	b.WriteString("subject,rule,authority,case_ref,decided_at,evidence_sha256,quantity\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s,LATE_UTILITY,utility.water,W%07d,2024-%02d-%02d,%s,%d\n", ric(i), i, 1+i%12, 1+i%28, digest(strconv.Itoa(i)), 1+i%3)
	}
	writeFile(t, file, b.String())
	logFile := filepath.Join(dir, "batches.log")
	rng := rand.New(rand.NewPCG(1, 2))

	countRecords := func() int {
		st, err := openTestStore(db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		res, err := st.Verify(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK {
			t.Fatalf("chain broken after kill: event %d: %s", res.FirstBad, res.Problem)
		}
		// Committed batches are present; nothing half-applied: the log holds
		// whole batches of the file, in order.
		recs := 0
		evs, err := st.Events(context.Background(), 0, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, ev := range evs {
			if ev.Record == nil {
				continue
			}
			if seen[ev.Record.CaseRef] {
				t.Fatalf("record %s filed twice", ev.Record.CaseRef)
			}
			seen[ev.Record.CaseRef] = true
			recs++
		}
		if recs%batch != 0 && recs != n {
			t.Fatalf("%d records present: not a whole number of batches of %d", recs, batch)
		}
		for i := 0; i < recs; i++ {
			if !seen[fmt.Sprintf("W%07d", i)] {
				t.Fatalf("line %d missing although %d records present", i+2, recs)
			}
		}
		logged, err := os.ReadFile(logFile)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(logged)), "\n") {
			if l == "" {
				continue
			}
			var f string
			var from, to int
			if _, err := fmt.Sscanf(l, "committed %s lines %d-%d", &f, &from, &to); err != nil {
				t.Fatalf("bad batch log line %q: %v", l, err)
			}
			for line := from; line <= to; line++ {
				if !seen[fmt.Sprintf("W%07d", line-2)] {
					t.Fatalf("line %d of a batch reported committed is missing", line)
				}
			}
		}
		return recs
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	kills := 0
	for run := 0; run < 4; run++ {
		cmd := exec.Command(exe, "ingest", "--db", db, "-q", "--batch", strconv.Itoa(batch), "--batch-log", logFile, file)
		cmd.Env = append(os.Environ(), "CREDO_TEST_MAIN=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(200+rng.IntN(1500)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err == nil {
			kills++
		}
		cmd.Wait()
		got := countRecords()
		t.Logf("run %d killed: %d records present", run, got)
	}
	if kills == 0 {
		t.Fatal("the ingest was never killed mid-run")
	}
	// A final run completes the file.
	cmd := exec.Command(exe, "ingest", "--db", db, "-q", "--batch", strconv.Itoa(batch), file)
	cmd.Env = append(os.Environ(), "CREDO_TEST_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	if got := countRecords(); got != n {
		t.Fatalf("%d records after the final run, want %d", got, n)
	}
}
