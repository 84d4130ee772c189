package seal_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"credo"
	"credo/registry"
	"credo/seal"
	"credo/sqlite"
	"credo/storetest"
)

// TestE01OtherNodeForgets: an erasure made by one process reaches another
// serving the same store: its tailer drops the key it held in memory and
// the subject's entry in its decision table, so that its checks too answer
// as for an unknown subject.
func TestE01OtherNodeForgets(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "credo.db")
	open := func() *seal.Store {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := seal.Open(ctx, db, testKeys, seal.Options{Ledger: seal.LedgerPath(path)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a := open()
	now := time.Now()
	clock := time.Now
	regA, err := registry.Open(ctx, a, registry.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := regA.Publish(ctx, "policy.yaml", src, now.AddDate(-1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	r := storetest.NewRecord("court.test", 1, 1)
	r.Rule, r.DecidedAt = "JUDGMENT_DEFAULT", now.AddDate(0, -1, 0)
	if _, err := regA.FileRecords(ctx, []*credo.Record{r}); err != nil {
		t.Fatal(err)
	}
	b := open()
	regB, err := registry.Open(ctx, b, registry.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	deny := func(reg *registry.Registry) bool {
		t.Helper()
		d, err := reg.Check(ctx, r.Subject, "aviation")
		if err != nil {
			t.Fatal(err)
		}
		return d.Decision == "deny"
	}
	if !deny(regA) {
		st, err := regA.State(ctx, r.Subject, time.Time{}, time.Time{})
		t.Fatalf("node A does not deny: %+v %v", st, err)
	}
	if !deny(regB) {
		t.Fatal("node B does not deny before the erasure")
	}
	if evs, _ := b.SubjectEvents(ctx, r.Subject); len(evs) == 0 {
		t.Fatal("node B reads nothing before the erasure")
	}
	if _, err := regA.Erase(ctx, r.Subject, credo.Erasure{Reason: "court order", LegalBasis: "PIPL art 47"}); err != nil {
		t.Fatal(err)
	}
	if deny(regA) {
		t.Error("node A still denies after its erasure")
	}
	if err := regB.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	tb, err := regB.Table(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, own := tb.Lookup(r.Subject); own {
		t.Error("node B's table still holds an entry of the erased subject")
	}
	if deny(regB) {
		t.Error("node B still denies after the erasure reached it")
	}
	if evs, _ := b.SubjectEvents(ctx, r.Subject); len(evs) != 0 {
		t.Errorf("node B still reads %d events of the erased subject", len(evs))
	}
}
