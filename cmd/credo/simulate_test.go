package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credo/policy"
	"credo/simulate"
)

// TestSimulate files one late-fee record of 8 months: -40 points (960, A)
// under the test policy, -160 (840, D) under the draft, which lists the
// person as low-credit, limits their internet and denies them rail.
func TestSimulate(t *testing.T) {
	db := newRegistry(t)
	dir := t.TempDir()
	decided := time.Now().AddDate(0, 0, -30).Format("2006-01-02")
	file := filepath.Join(dir, "records.ndjson")
	writeFile(t, file, fmt.Sprintf(`{"subject":%q,"rule":"LATE_UTILITY","authority":"utility.water","case_ref":"W-1","decided_at":%q,"quantity":8,"evidence_sha256":%q}`+"\n"+
		`{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"J-2","decided_at":%q,"evidence_sha256":%q}`+"\n",
		ric(1), decided, digest("1"), ric(2), decided, digest("2")))
	if code, out, errs := runCLI(t, "ingest", "--db", db, "-q", file); code != 0 {
		t.Fatalf("ingest: exit %d\n%s%s", code, out, errs)
	}
	draft := "../../simulate/testdata/draft.yaml"

	code, out, errs := runCLI(t, "simulate", "--db", db, "--policy", draft)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"Scheme civic: 1 stayed, 1 down, 0 up", "civic A→D (960→840)", "low-credit", ric(1)} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}

	htmlFile := filepath.Join(dir, "impact.html")
	code, out, errs = runCLI(t, "simulate", "--db", db, "--policy", draft, "--json", "--html", htmlFile, "--lang", "zh", "--min-group", "1")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	var r simulate.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Population.Subjects != 2 || r.Changed != 1 || len(r.MostAffected) != 1 || r.MostAffected[0].Subject != ric(1) || r.MinGroup != 1 {
		t.Errorf("report: population %+v changed %d most affected %+v", r.Population, r.Changed, r.MostAffected)
	}
	page, err := os.ReadFile(htmlFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "政策影响模拟") || strings.Contains(string(page), ric(1)) {
		t.Error("the HTML report must be in Chinese and, without --html-subjects, name nobody")
	}

	for _, bad := range [][]string{
		{"simulate", "--db", db},
		{"simulate", "--db", db, "--policy", draft, "--threshold", "1.5"},
		{"simulate", "--db", db, "--policy", draft, "--at", "tomorrow"},
		{"simulate", "--db", db, "--policy", "testdata/no-such.yaml"},
		{"simulate", "--db", filepath.Join(dir, "none.db"), "--policy", draft},
	} {
		if code, _, errs := runCLI(t, bad...); code != 1 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q", bad, code, errs)
		}
	}
}

func TestPolicyDiff(t *testing.T) {
	code, out, errs := runCLI(t, "policy", "diff", "../../policies/beijing.yaml", "../../policies/beijing-draft.yaml")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (they differ)\n%s%s", code, out, errs)
	}
	for _, want := range []string{"~ DOG_OFF_LEASH", "points.dog_licence.each: -3 → -4", "lists.dishonest-debtors.period: 2y → 3y", "- bandwidth-cap"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "policy", "diff", "--json", "../../policies/beijing.yaml", "../../policies/beijing.yaml")
	var d policy.Diff
	if code != 0 || json.Unmarshal([]byte(out), &d) != nil || !d.Empty() {
		t.Errorf("same policy: exit %d, %s", code, out)
	}
	if code, _, errs := runCLI(t, "policy", "diff", "../../policies/beijing.yaml", "testdata/no-such.yaml"); code == 0 || errs == "" {
		t.Errorf("missing file: exit %d, stderr %q", code, errs)
	}
}
