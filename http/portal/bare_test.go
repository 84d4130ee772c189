package portal

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"credo"
	"credo/policies"
	"credo/registry"
	"credo/sqlite"
)

// newBare returns a portal over an empty registry with the example policy.
func newBare(t *testing.T) *Portal {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "credo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := registry.Open(ctx, db, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "beijing.yaml", policies.Beijing, reg.Now().AddDate(-1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	p, err := New(reg, db, db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCensusWarmAndStale(t *testing.T) {
	p := newBare(t)
	ctx := context.Background()
	p.WarmUp()
	cs, err := p.census.get(ctx) // waits for the warm-up
	if err != nil {
		t.Fatal(err)
	}
	if cs.subjects != 0 {
		t.Fatalf("%d subjects in an empty registry", cs.subjects)
	}
	// A record filed later shows once a rebuild has run; meanwhile the
	// old census is served, not waited for.
	if _, err := p.reg.FileRecord(ctx, &credo.Record{Subject: "914403001922038216", SubjectName: "X Co.", Rule: "JUDGMENT_DEFAULT_ABILITY",
		Authority: "court.beijing.chaoyang", CaseRef: "C-1", DecidedAt: p.reg.Now().AddDate(0, 0, -30), NotifiedAt: p.reg.Now().AddDate(0, 0, -29),
		EvidenceSHA256: credo.HashBytes([]byte("C-1"))}); err != nil {
		t.Fatal(err)
	}
	p.census.mu.Lock()
	p.census.ttl = 0
	p.census.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cs, err := p.census.get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cs.subjects == 1 && len(cs.entries["dishonest-debtors"]) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the census never caught up: %d subjects", cs.subjects)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
