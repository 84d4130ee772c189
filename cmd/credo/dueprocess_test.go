package main

import (
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

	"credo"
	"credo/registry"
)

// fileJudgments files n judgment defaults (one per subject) through the
// CLI and returns their record ids, in order.
func fileJudgments(t *testing.T, db string, n int) []int64 {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"J%d","decided_at":"2024-0%d-0%d","evidence_sha256":%q}`+"\n",
			ric(500+i), i, 1+i%9, 1+i%9, digest(strconv.Itoa(i)))
	}
	file := filepath.Join(t.TempDir(), "judgments.ndjson")
	writeFile(t, file, b.String())
	if code, out, errs := runCLI(t, "ingest", "--db", db, "-q", file); code != 0 {
		t.Fatalf("ingest: exit %d\n%s%s", code, out, errs)
	}
	st, err := openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ids := make([]int64, n)
	for i := range ids {
		rec, err := st.RecordByCase(context.Background(), "court.test", fmt.Sprintf("J%d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = rec.ID
	}
	return ids
}

func TestDisputeCLI(t *testing.T) {
	db := newRegistry(t)
	ids := fileJudgments(t, db, 2)
	rec := strconv.FormatInt(ids[0], 10)

	code, out, errs := runCLI(t, "dispute", "open", "--db", db, "--record", rec, "--grounds", "I paid", "--json")
	if code != 0 {
		t.Fatalf("open: exit %d %s%s", code, out, errs)
	}
	var d registry.DisputeCase
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if d.Decider != "court.test" || d.Deadline.Sub(d.OpenedAt) != 15*24*time.Hour || d.OpenedBy != registry.ActorAdmin {
		t.Errorf("opened: %+v", d)
	}
	id := strconv.FormatInt(d.ID, 10)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"dispute", "open", "--db", db, "--record", rec, "--grounds", "again"}, 1, "already has an open dispute"},
		{[]string{"dispute", "open", "--db", db, "--grounds", "x"}, 1, "--record: is required"},
		{[]string{"dispute", "open", "--db", db, "--record", rec}, 1, "grounds: is required"},
		{[]string{"dispute", "decide", "--db", db, id, "--outcome", "upheld", "--reason", "x", "--authority", "utility.water"}, 1, "decided by the authority that filed record"},
		{[]string{"dispute", "decide", "--db", db, id, "--outcome", "maybe", "--reason", "x"}, 1, "outcome: must be upheld, corrected or revoked"},
		{[]string{"dispute", "decide", "--db", db, "seven", "--outcome", "upheld", "--reason", "x"}, 1, "not a positive integer"},
		{[]string{"disputes", "--db", db, "--state", "closed"}, 1, "--state"},
		{[]string{"repair", "apply", "--db", db, "--record", rec, "--statement", "paid"}, 1, "public credit commitment"},
		{[]string{"repair", "decide", "--db", db, "1", "--reason", "x"}, 1, "exactly one of --approve and --refuse"},
	} {
		code, out, errs := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q (stdout %q)", tc.args, code, errs, tc.code, tc.msg, out)
		}
	}
	code, out, _ = runCLI(t, "disputes", "--db", db, "--authority", "court.test")
	if code != 0 || !strings.Contains(out, "objection") || !strings.Contains(out, "15d left") {
		t.Errorf("queue: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "dispute", "decide", "--db", db, id, "--outcome", "upheld", "--reason", "no payment on file", "--authority", "court.test")
	if code != 0 || !strings.Contains(out, "appeal to court.appeal by") {
		t.Errorf("decide: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "dispute", "show", "--db", db, id)
	if code != 0 || !strings.Contains(out, "upheld") || !strings.Contains(out, "no payment on file") {
		t.Errorf("show: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "disputes", "--db", db)
	if code != 0 || !strings.Contains(out, "no disputes") {
		t.Errorf("empty queue: exit %d\n%s", code, out)
	}

	// Repair: the judgment defaults were decided in 2024, repairable after
	// a year.
	code, out, errs = runCLI(t, "repair", "apply", "--db", db, "--record", rec, "--statement", "paid in full", "--commitment", "--json")
	if code != 0 {
		t.Fatalf("apply: exit %d %s%s", code, out, errs)
	}
	var a registry.RepairCase
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "repairs", "--db", db, "--authority", "court.test")
	if code != 0 || !strings.Contains(out, strconv.FormatInt(a.ID, 10)) {
		t.Errorf("repair queue: exit %d\n%s", code, out)
	}
	code, out, errs = runCLI(t, "repair", "decide", "--db", db, strconv.FormatInt(a.ID, 10), "--approve", "--reason", "performed", "--authority", "court.test")
	if code != 0 || !strings.Contains(out, "approved") {
		t.Errorf("approve: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "show", "--db", db, ric(500))
	if code != 0 || !strings.Contains(out, "repaired") {
		t.Errorf("show after repair: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "verify", "--db", db); code != 0 {
		t.Errorf("verify: %s", out)
	}
}

// TestDisputeCrash opens disputes through the CLI while another process
// writes to the same registry, kills that process (and some of the
// dispute commands) with SIGKILL at random points, and shows that no
// objection is lost or half-recorded: every dispute a command reported is
// there after reopening, with the deadline it reported; every dispute in
// the log is in the queues; and the chain verifies.
func TestDisputeCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs subprocesses")
	}
	db := newRegistry(t)
	const n = 12
	ids := fileJudgments(t, db, n)

	// The concurrent writer: a long ingest, killed and restarted.
	dir := t.TempDir()
	big := filepath.Join(dir, "big.csv")
	var b strings.Builder
	b.WriteString("subject,rule,authority,case_ref,decided_at,evidence_sha256,quantity\n")
	for i := 0; i < 30000; i++ {
		fmt.Fprintf(&b, "%s,LATE_UTILITY,utility.water,W%07d,2024-%02d-%02d,%s,%d\n", ric(i), i, 1+i%12, 1+i%28, digest(strconv.Itoa(i)), 1+i%3)
	}
	writeFile(t, big, b.String())
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	command := func(args ...string) *exec.Cmd {
		cmd := exec.Command(exe, args...)
		cmd.Env = append(os.Environ(), "CREDO_TEST_MAIN=1")
		return cmd
	}
	var ingest *exec.Cmd
	startIngest := func() {
		ingest = command("ingest", "--db", db, "-q", "--batch", "1000", big)
		if err := ingest.Start(); err != nil {
			t.Fatal(err)
		}
	}
	killIngest := func() {
		if err := ingest.Process.Signal(syscall.SIGKILL); err != nil {
			t.Logf("ingest already ended: %v", err)
		}
		ingest.Wait()
	}
	rng := rand.New(rand.NewPCG(5, 7))
	// The dispute commands run for a few hundred milliseconds (start,
	// open the store, append, exit): kills within this window land before,
	// during and after the commit.
	const killWindow = 600
	reported := map[int64]registry.DisputeCase{} // by dispute id
	killed := 0
	startIngest()
	for i, rec := range ids {
		cmd := command("dispute", "open", "--db", db, "--record", strconv.FormatInt(rec, 10),
			"--grounds", fmt.Sprintf("objection %d", i), "--json")
		var out strings.Builder
		cmd.Stdout = &out
		var errb strings.Builder
		cmd.Stderr = &errb
		began := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			// Kill this one at a random point: it may or may not have
			// committed; it must never leave half an objection.
			time.Sleep(time.Duration(rng.IntN(killWindow)) * time.Millisecond)
			if cmd.Process.Signal(syscall.SIGKILL) == nil {
				killed++
			}
		}
		err := cmd.Wait()
		t.Logf("dispute open %d: %v after %v", i, err, time.Since(began).Round(time.Millisecond))
		if err == nil {
			var d registry.DisputeCase
			if jerr := json.Unmarshal([]byte(out.String()), &d); jerr != nil {
				t.Fatalf("dispute open %d succeeded with output %q: %v", i, out.String(), jerr)
			}
			reported[d.ID] = d
		} else if i%2 == 0 {
			t.Fatalf("dispute open %d: %v\n%s", i, err, errb.String())
		}
		if i == n/3 || i == 2*n/3 {
			// Kill the concurrent writer mid-way, and start it again.
			time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
			killIngest()
			startIngest()
		}
	}
	time.Sleep(time.Duration(100+rng.IntN(400)) * time.Millisecond)
	killIngest()
	if len(reported) < n/2 {
		t.Fatalf("only %d disputes reported", len(reported))
	}
	t.Logf("%d dispute commands killed, %d disputes reported", killed, len(reported))

	// Reopen: the log verifies...
	if code, out, errs := runCLI(t, "verify", "--db", db); code != 0 {
		t.Fatalf("verify after the kills: exit %d %s%s", code, out, errs)
	}
	// ...every reported dispute is there, with its deadlines...
	code, out, errs := runCLI(t, "disputes", "--db", db, "--state", "all", "--json")
	if code != 0 {
		t.Fatalf("disputes: exit %d %s", code, errs)
	}
	var listed []registry.DisputeCase
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatal(err)
	}
	byID := map[int64]registry.DisputeCase{}
	perRecord := map[int64]int{}
	for _, d := range listed {
		byID[d.ID] = d
		perRecord[d.RecordID]++
	}
	for id, want := range reported {
		got, ok := byID[id]
		switch {
		case !ok:
			t.Errorf("dispute %d (record %d) was reported opened but is lost", id, want.RecordID)
		case got.RecordID != want.RecordID || got.Grounds != want.Grounds || !got.OpenedAt.Equal(want.OpenedAt) ||
			!got.Deadline.Equal(want.Deadline) || got.State != credo.StateOpen || got.Decider != want.Decider:
			t.Errorf("dispute %d after the crash: %+v, reported %+v", id, got, want)
		}
	}
	for rec, k := range perRecord {
		if k > 1 {
			t.Errorf("record %d has %d disputes", rec, k)
		}
	}
	// ...and the queue is exactly the log: every dispute.opened event has
	// its projection, none is half-written.
	st, err := openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.Events(context.Background(), 0, 0)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for _, ev := range evs {
		if ev.Type != credo.EventDisputeOpened {
			continue
		}
		opened++
		if _, ok := byID[ev.Dispute.ID]; !ok {
			t.Errorf("dispute %d is in the log but not in the queue", ev.Dispute.ID)
		}
	}
	if opened != len(listed) {
		t.Errorf("%d disputes in the log, %d listed", opened, len(listed))
	}
	// The workflow goes on: a reported dispute can be decided.
	for id := range reported {
		code, out, errs := runCLI(t, "dispute", "decide", "--db", db, strconv.FormatInt(id, 10), "--outcome", "upheld", "--reason", "stands", "--authority", "court.test")
		if code != 0 {
			t.Errorf("deciding dispute %d after the crash: exit %d %s%s", id, code, out, errs)
		}
		break
	}
	if code, out, _ := runCLI(t, "verify", "--db", db); code != 0 {
		t.Errorf("verify at the end: %s", out)
	}
}
