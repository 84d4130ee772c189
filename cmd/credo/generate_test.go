package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenerateIntoStore files a small city straight into a registry: every
// record the file output holds is filed, none refused, the log verifies,
// and a second run into the same registry is refused.
func TestGenerateIntoStore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "city.db")
	flags := []string{"generate", "--policy", "../../policies/beijing.yaml", "--people", "2000", "--orgs", "200",
		"--end", "2026-01-01", "--seed", "7", "--json", "-q"}
	summary := func(args ...string) generateSummary {
		t.Helper()
		code, out, errs := runCLI(t, append(append([]string{}, flags...), args...)...)
		if code != 0 {
			t.Fatalf("generate %v: exit %d\n%s%s", args, code, out, errs)
		}
		var s generateSummary
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("summary %q: %v", out, err)
		}
		return s
	}
	intoDB := summary("--db", db)
	toFile := summary("--out", filepath.Join(dir, "city.ndjson"), "--links", filepath.Join(dir, "links.ndjson"))
	if intoDB.Records == 0 || intoDB.Records != toFile.Records || intoDB.Refused != 0 {
		t.Fatalf("filed %d records (%d refused); the file holds %d", intoDB.Records, intoDB.Refused, toFile.Records)
	}
	if intoDB.Links == 0 || intoDB.Links != toFile.Links {
		t.Fatalf("%d links appended; the file holds %d", intoDB.Links, toFile.Links)
	}
	if code, out, errs := runCLI(t, "verify", "--db", db); code != 0 {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errs)
	}
	code, _, errs := runCLI(t, append(flags, "--db", db)...)
	if code == 0 || !strings.Contains(errs, "already holds records") {
		t.Fatalf("second run: exit %d, %s", code, errs)
	}
	code, _, errs = runCLI(t, append(flags, "--db", db, "--out", "-")...)
	if code == 0 || !strings.Contains(errs, "--db") {
		t.Fatalf("--db with --out: exit %d, %s", code, errs)
	}
}
