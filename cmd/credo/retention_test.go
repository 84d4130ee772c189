package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestE06RetentionReport: `credo retention report` says what passes
// retention when: records and subjects per month, and for one subject each
// record with its retention end and legal basis.
func TestE06RetentionReport(t *testing.T) {
	db := filepath.Join(t.TempDir(), "r.db")
	mustRun(t, "init", "--db", db, "--policy", "testdata/policy.yaml")
	fileJudgments(t, db, 3) // decided 2024-01-01, 2024-02-02, 2024-03-03

	var rep struct {
		Subjects int
		Open     int
		Months   []struct {
			Month             string
			Records, Subjects int
		}
	}
	out := mustRun(t, "retention", "report", "--db", db, "--at", "2026-06-01", "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// Each counts 5 years and is kept 6 months more.
	want := map[string]int{"2029-07": 1, "2029-08": 1, "2029-09": 1}
	if rep.Subjects != 3 || rep.Open != 0 || len(rep.Months) != 3 {
		t.Fatalf("report %+v, want 3 subjects over 3 months", rep)
	}
	for _, m := range rep.Months {
		if want[m.Month] != 1 || m.Records != 1 || m.Subjects != 1 {
			t.Errorf("month %+v, want one record and one subject in each of %v", m, want)
		}
	}
	// Past retention, the month is "past".
	out = mustRun(t, "retention", "report", "--db", db, "--at", "2029-08-15")
	if !strings.Contains(out, "already past") || !strings.Contains(out, "2029-09") || !strings.Contains(out, "credo retention erase") {
		t.Errorf("text report:\n%s", out)
	}

	out = mustRun(t, "retention", "report", "--db", db, "--at", "2026-06-01", "--subject", ric(500))
	for _, s := range []string{"RETAINED UNTIL", "2029-01-01", "2029-07-01", "rule JUDGMENT_DEFAULT +6mo", "PIPL art 47", "retained", "checks logged: 0", "last record past retention on 2029-07-01"} {
		if !strings.Contains(out, s) {
			t.Errorf("subject report lacks %q:\n%s", s, out)
		}
	}
	out = mustRun(t, "retention", "report", "--db", db, "--at", "2029-07-01", "--subject", ric(500))
	if !strings.Contains(out, "past retention") || !strings.Contains(out, "may be forgotten") {
		t.Errorf("subject report past retention:\n%s", out)
	}
}
