package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// ingestJudgments files n judgment defaults (about ric(0)..ric(n-1)) into db.
func ingestJudgments(t *testing.T, db string, from, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("subject,rule,authority,case_ref,decided_at,evidence_sha256\n")
	for i := from; i < from+n; i++ {
		b.WriteString(csvLine(ric(i), "JUDGMENT_DEFAULT", "court.test", fmt.Sprintf("(2026)r%d", i), "2026-03-01", digest(fmt.Sprint(i))) + "\n")
	}
	file := filepath.Join(t.TempDir(), "j.csv")
	writeFile(t, file, b.String())
	if code, out, errs := runCLI(t, "ingest", "--db", db, "-q", file); code != 0 {
		t.Fatalf("ingest: exit %d\n%s%s", code, out, errs)
	}
}

// TestR04VerifyProjectionsCLI: `credo verify` proves the projections
// equal a replay of the log, and names the table that does not; `credo
// check` refuses to answer from a subject index with a row missing
// (it used to answer allow for a denied subject while verify said ok).
func TestR04VerifyProjectionsCLI(t *testing.T) {
	db := newRegistry(t)
	ingestJudgments(t, db, 0, 20)
	code, out, errs := runCLI(t, "verify", "--db", db)
	if code != 0 || !strings.Contains(out, "ok: projections equal a replay") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "check", "--db", db, ric(3), "aviation"); code != 0 || !strings.Contains(out, "deny") {
		t.Fatalf("check before tampering: exit %d\n%s%s", code, out, errs)
	}

	raw, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("DELETE FROM subject_events WHERE subject = ?", pseudonym(t, db, ric(3))); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	code, out, errs = runCLI(t, "verify", "--db", db)
	if code != 1 || !strings.HasPrefix(out, "ok: 41 events") || !strings.Contains(out, "FAILED projection subject_events: 2 row(s) missing") {
		t.Errorf("verify after deleting an index row: exit %d\n%s%s", code, out, errs)
	}
	if code, out, _ := runCLI(t, "verify", "--db", db, "--log-only"); code != 0 {
		t.Errorf("verify --log-only: exit %d\n%s", code, out)
	}
	code, out, errs = runCLI(t, "check", "--db", db, ric(3), "aviation")
	if code == 0 || strings.Contains(out, "allow") || !strings.Contains(errs, "projections do not match") {
		t.Errorf("check after deleting an index row: exit %d\n%s%s", code, out, errs)
	}
}

// TestR07DateBoundsIngest: `credo ingest` refuses dates outside the
// registry's domain line by line, with the field and the reason: year
// 1000 and 1900 used to be filed, and 0001-01-01 (in UTC, the zero
// instant) was refused as "is required".
func TestR07DateBoundsIngest(t *testing.T) {
	db := newRegistry(t)
	lines := []string{
		"subject,rule,authority,case_ref,decided_at,evidence_sha256",
		csvLine(ric(1), "JUDGMENT_DEFAULT", "court.test", "d1", "1000-03-01", digest("1")),           // 2
		csvLine(ric(2), "JUDGMENT_DEFAULT", "court.test", "d2", "1900-03-01", digest("2")),           // 3
		csvLine(ric(3), "JUDGMENT_DEFAULT", "court.test", "d3", "0001-01-01T00:00:00Z", digest("3")), // 4
		csvLine(ric(4), "JUDGMENT_DEFAULT", "court.test", "d4", "1950-01-02", digest("4")),           // 5: accepted
	}
	file := filepath.Join(t.TempDir(), "d.csv")
	writeFile(t, file, strings.Join(lines, "\n")+"\n")
	code, out, errs := runCLI(t, "ingest", "--db", db, file)
	if code != 1 || !strings.Contains(out, "1 filed") {
		t.Errorf("ingest: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{":2: decided_at: 1000-03-01", ":3: decided_at: 1900-03-01", "before 1950-01-01", ":4: decided_at:", "zero instant"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

// TestR05IngestRefusesTruncatedLog: after the last events of the log are
// deleted (the head row untouched), `credo ingest` used to append from the
// surviving end, rewrite the head and exit 0, after which `credo verify`
// said ok. Now it fails, saying the log was altered, and verify still
// reports the gap.
func TestR05IngestRefusesTruncatedLog(t *testing.T) {
	db := newRegistry(t)
	ingestJudgments(t, db, 0, 10)
	raw, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TRIGGER events_no_delete", "DELETE FROM events WHERE seq > (SELECT max(seq) - 2 FROM events)"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	var b strings.Builder
	b.WriteString("subject,rule,authority,case_ref,decided_at,evidence_sha256\n")
	b.WriteString(csvLine(ric(50), "JUDGMENT_DEFAULT", "court.test", "(2026)after", "2026-03-01", digest("50")) + "\n")
	file := filepath.Join(t.TempDir(), "more.csv")
	writeFile(t, file, b.String())
	code, out, errs := runCLI(t, "ingest", "--db", db, file)
	if code == 0 || !strings.Contains(errs, "altered") {
		t.Errorf("ingest into a truncated log: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "verify", "--db", db, "--log-only")
	if code != 1 || !strings.Contains(out, "missing (the log ends at") {
		t.Errorf("verify after the refused ingest: exit %d\n%s", code, out)
	}
}
