package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"credo/storetest"
)

// TestH02CLIBothWays runs every command that takes --server both ways
// over the same registry contents: with --db on one registry, and with
// --server against `credo serve` (in this process, on 127.0.0.1) on its
// twin, built by the same steps. Each command must end with the same exit
// status and print the same output and errors, the instants that come from
// the clock aside (issue 16, "the house", item 2: one code path per
// command, whichever services it runs on).
func TestH02CLIBothWays(t *testing.T) {
	start := time.Now()
	local, served := newRegistry(t), newRegistry(t)
	// The same steps on both registries (an admin token each), so that
	// records, events and disputes get the same numbers.
	mustRun(t, "token", "create", "--db", local, "--role", "admin")
	admin := strings.TrimSpace(mustRun(t, "token", "create", "--db", served, "--role", "admin"))
	base, stop := startServe(t, served)
	defer stop()

	file := filepath.Join(t.TempDir(), "records.ndjson")
	// ric(8)'s judgment was decided at 00:30 in Beijing: the day before in
	// UTC, so a date read or shown in another zone shows.
	writeFile(t, file, fmt.Sprintf(`{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"R1","decided_at":"2024-01-02","evidence_sha256":%q}
{"subject":"110105194912310021","rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"R2","decided_at":"2024-01-02","evidence_sha256":%q}
{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"R3","decided_at":"2024-03-05T00:30:00+08:00","evidence_sha256":%q}
{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"R1","decided_at":"2024-01-03","evidence_sha256":%q}
`, ric(7), digest("r1"), digest("r2"), ric(8), digest("r3"), ric(7), digest("r1")))

	// both runs a command both ways and compares; it returns the output
	// of the local run.
	both := func(wantCode int, want string, args ...string) string {
		t.Helper()
		lc, lout, lerr := runCLI(t, append(args[:len(args):len(args)], "--db", local)...)
		rc, rout, rerr := runCLI(t, append(args[:len(args):len(args)], "--server", base, "--token", admin)...)
		name := strings.Join(args, " ")
		if lc != wantCode || !strings.Contains(lout+lerr, want) {
			t.Errorf("%s --db: exit %d, want %d with %q:\n%s%s", name, lc, wantCode, want, lout, lerr)
		}
		if rc != lc || clockless(rout, start) != clockless(lout, start) || clockless(rerr, start) != clockless(lerr, start) {
			t.Errorf("%s differs:\n--db: exit %d\n%s%s\n--server: exit %d\n%s%s", name, lc, lout, lerr, rc, rout, rerr)
		}
		return lout
	}

	both(1, "4 lines: 2 filed, 0 already present, 2 rejected", "ingest", "-q", file)
	both(1, "4 lines: 0 filed, 2 already present, 2 rejected", "ingest", "-q", file)
	ids := recordIDs(t, local, "R1", "R3")
	r1, r3 := strconv.FormatInt(ids[0], 10), strconv.FormatInt(ids[1], 10)
	both(0, ric(7)+" aviation: DENY", "check", ric(7), "aviation")
	both(0, "legal basis", "check", ric(7), "aviation", "--lang", "zh-CN")
	both(0, "ALLOW", "check", ric(9), "aviation")
	both(1, "subject", "check", "123", "aviation")
	both(0, "debtors", "show", ric(7))
	both(0, "2024-03-05", "show", ric(8))
	both(0, "告知书", "show", ric(8), "--lang", "zh-CN")
	both(0, "debtors", "show", ric(7), "--at", "2025-01-01")
	both(1, "nothing was known yet", "show", ric(7), "--known", "2001-01-01")
	both(1, "no policy was in force yet", "show", ric(7), "--at", "2001-01-01")

	// What legitimately differs: a server discloses to a checker what a
	// service provider may learn (no record ids), answers checks for now
	// only, and acts as its token, never as an --authority named on the
	// command line.
	if code, out, errs := runCLI(t, "check", "--db", local, ric(7), "aviation", "--json"); code != 0 || !strings.Contains(out, `"decision": "deny"`) || !strings.Contains(out, `"records"`) {
		t.Errorf("check --json with --db: exit %d %s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "check", "--server", base, "--token", admin, ric(7), "aviation", "--json"); code != 0 || !strings.Contains(out, `"decision": "deny"`) || strings.Contains(out, `"records"`) {
		t.Errorf("check --json over --server: exit %d %s%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "check", "--server", base, "--token", admin, ric(7), "aviation", "--at", "2025-01-01"); code != 1 || !strings.Contains(errs, "--at: a server answers checks for now only") {
		t.Errorf("check --at over --server: exit %d %s", code, errs)
	}
	if code, out, errs := runCLI(t, "check", "--db", local, ric(7), "aviation", "--at", "2025-01-01"); code != 0 || !strings.Contains(out, "DENY") {
		t.Errorf("check --at with --db: exit %d %s%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "record", "fulfil", "--server", base, "--token", admin, r1, "--reason", "paid", "--authority", "court.test"); code != 1 || !strings.Contains(errs, "token") {
		t.Errorf("record fulfil --authority over --server: exit %d %s", code, errs)
	}

	org := storetest.USCC(1)
	link := []string{"--org", org, "--person", ric(8), "--role", "legal_representative", "--authority", "court.test", "--legal-basis", "Company Law art 10"}
	both(0, "linked", append([]string{"link", "add", "--from", "2021-01-01"}, link...)...)
	both(0, "already linked", append([]string{"link", "add", "--from", "2021-01-01"}, link...)...)
	both(1, "future", append([]string{"link", "add", "--from", "2099-01-01", "--json"}, link...)...)
	both(0, "ended link", append([]string{"link", "end", "--until", "2022-01-01"}, link...)...)

	both(0, "no disputes", "disputes")
	out := both(0, `"opened_by": "admin"`, "dispute", "open", "--record", r1, "--grounds", "I paid on 3 March", "--json")
	var d struct{ ID int64 }
	if err := json.Unmarshal([]byte(out), &d); err != nil || d.ID == 0 {
		t.Fatalf("dispute open --json: %v\n%s", err, out)
	}
	did := strconv.FormatInt(d.ID, 10)
	both(1, "already has an open dispute", "dispute", "open", "--record", r1, "--grounds", "again")
	both(0, "objection", "disputes", "--authority", "court.test")
	both(0, `"state": "open"`, "disputes", "--state", "all", "--subject", ric(7), "--json")
	both(1, "--state", "disputes", "--state", "closed")
	both(1, "outcome", "dispute", "decide", did, "--outcome", "maybe", "--reason", "x")
	both(0, "upheld", "dispute", "decide", did, "--outcome", "upheld", "--reason", "no payment on file")
	both(0, "no disputes", "disputes")
	both(0, "upheld", "disputes", "--state", "decided")

	out = both(0, `"applied_by": "admin"`, "repair", "apply", "--record", r1, "--statement", "paid in full", "--commitment", "--json")
	var a struct{ ID int64 }
	if err := json.Unmarshal([]byte(out), &a); err != nil || a.ID == 0 {
		t.Fatalf("repair apply --json: %v\n%s", err, out)
	}
	both(1, "commitment", "repair", "apply", "--record", r3, "--statement", "paid")
	both(0, "d left", "repairs", "--authority", "court.test")
	both(0, "approved", "repair", "decide", strconv.FormatInt(a.ID, 10), "--approve", "--reason", "performed")
	both(0, "no repair applications", "repairs")

	both(0, "record.fulfilled from 2024-04-01", "record", "fulfil", r3, "--reason", "paid", "--at", "2024-04-01")
	both(0, "record.fulfilled", "record", "fulfil", r3, "--reason", "paid", "--at", "2024-04-01")
	both(1, "reason", "record", "revoke", r3)
	both(0, "record.revoked", "record", "revoke", r3, "--reason", "wrong person", "--void")
	both(0, "ALLOW", "check", ric(8), "aviation")
	both(0, "revoked", "show", ric(8))
}

// recordIDs returns the ids of court.test's records by case reference.
func recordIDs(t *testing.T, db string, cases ...string) []int64 {
	t.Helper()
	st, err := openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ids := make([]int64, len(cases))
	for i, c := range cases {
		rec, err := st.RecordByCase(context.Background(), "court.test", c)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = rec.ID
	}
	return ids
}

var (
	// instantRE matches a date, with a time of day and an offset if given.
	instantRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?( ?(Z|[+-]\d{2}:\d{2}))?`)
	// rateRE matches ingest's timing.
	rateRE = regexp.MustCompile(` in [0-9.]+[µmn]?s \([0-9]+ records/s\)`)
)

// clockless masks in out what comes from the clock: the instants of the
// days around the test (a filing time, the day of a notice, a deadline a
// few weeks on) and ingest's timing. Dates of the records, years before
// the test, stay as they are.
func clockless(out string, start time.Time) string {
	from, until := start.AddDate(0, 0, -2).Format("2006-01-02"), start.AddDate(0, 3, 0).Format("2006-01-02")
	out = instantRE.ReplaceAllStringFunc(out, func(s string) string {
		if day := s[:10]; day >= from && day <= until {
			return "<now>"
		}
		return s
	})
	return rateRE.ReplaceAllString(out, " in <time>")
}
