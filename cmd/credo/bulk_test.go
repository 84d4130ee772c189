package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"credo/sqlite"
)

// TestS06IngestBulk: `credo ingest --bulk` loads a registry without
// records (the same file again is a no-op, refused in bulk now that the
// registry has records), and the registry verifies, projections included.
func TestS06IngestBulk(t *testing.T) {
	db := newRegistry(t)
	file := filepath.Join(t.TempDir(), "a.ndjson")
	var b strings.Builder
	for i := range 50 {
		fmt.Fprintf(&b, `{"subject":%q,"rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"B%d","decided_at":"2024-01-02","evidence_sha256":%q}`+"\n", ric(i%9), i, digest("a"))
	}
	writeFile(t, file, b.String())
	out := mustRun(t, "ingest", "--db", db, "-q", "--bulk", file)
	if !strings.Contains(out, "50 filed, 0 already present, 0 rejected") {
		t.Errorf("bulk ingest: %s", out)
	}
	code, out, stderr := runCLI(t, "ingest", "--db", db, "-q", "--bulk", file)
	if code == 0 || !strings.Contains(stderr, "--bulk") {
		t.Errorf("a second bulk load: exit %d\n%s%s", code, out, stderr)
	}
	if out := mustRun(t, "ingest", "--db", db, "-q", file); !strings.Contains(out, "0 filed, 50 already present") {
		t.Errorf("the same file again: %s", out)
	}
	if out := mustRun(t, "verify", "--db", db); !strings.Contains(strings.ToLower(out), "ok") {
		t.Errorf("verify: %s", out)
	}
}

// TestS06GenerateBulkSweepCursor: a bulk load by `credo generate` issued
// its notices itself, so the sweeper's cursor starts after the load (the
// first `serve` does not examine every record again); a load in batches
// leaves it where it was (other writers may file meanwhile).
func TestS06GenerateBulkSweepCursor(t *testing.T) {
	for _, bulk := range []bool{true, false} {
		db := filepath.Join(t.TempDir(), "g.db")
		args := []string{"generate", "--policy", "../../policies/beijing.yaml", "--people", "300", "--orgs", "30", "--end", "2026-01-01", "--db", db, "-q"}
		if bulk {
			args = append(args, "--bulk")
		}
		mustRun(t, args...)
		st, err := sqlite.Open(db)
		if err != nil {
			t.Fatal(err)
		}
		cur, err := st.NoticeSweepCursor(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		head, _, err := st.Head(context.Background())
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if bulk && cur != head || !bulk && cur != 0 {
			t.Errorf("bulk %v: sweep cursor %d, head %d", bulk, cur, head)
		}
	}
}
