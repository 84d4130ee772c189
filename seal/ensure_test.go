package seal_test

import (
	"context"
	"path/filepath"
	"testing"

	"credo"
	"credo/seal"
	"credo/sqlite"
	"credo/storetest"
)

// racing is a backend on which another process stores a subject's key
// between this one's looking for it and storing its own.
type racing struct {
	seal.Backend
	before func()
}

func (r *racing) EnsureSubjectKeys(ctx context.Context, keys []credo.SubjectKey) ([]credo.SubjectKey, error) {
	if f := r.before; f != nil {
		r.before = nil
		f()
	}
	return r.Backend.EnsureSubjectKeys(ctx, keys)
}

// TestE07EnsureKeepsTheStoredKey: the data key a filing creates is used
// without unwrapping it again only when it is the one stored; when another
// process stored the subject's key first, the records are sealed under
// that one, which both processes then open.
func TestE07EnsureKeepsTheStoredKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "credo.db")
	open := func(wrap func(seal.Backend) seal.Backend) *seal.Store {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := seal.Open(ctx, wrap(db), testKeys, seal.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a := open(func(b seal.Backend) seal.Backend { return b })
	r := storetest.NewRecord("court.test", 1, 1)
	race := &racing{before: func() {
		// The other process checks the subject first: its key is stored.
		if err := a.LogChecks(ctx, []credo.CheckEntry{{ID: "c1", Subject: r.Subject, Sector: "aviation", Decision: "allow"}}); err != nil {
			t.Fatal(err)
		}
	}}
	b := open(func(in seal.Backend) seal.Backend { race.Backend = in; return race })
	if _, err := b.FileRecords(ctx, []*credo.Record{r}); err != nil {
		t.Fatal(err)
	}
	if race.before != nil {
		t.Fatal("the race did not happen")
	}
	got, err := a.RecordByCase(ctx, r.Authority, r.CaseRef)
	if err != nil {
		t.Fatalf("the other process cannot open the record filed: %v", err)
	}
	if got.Subject != r.Subject || got.EvidenceURI != r.EvidenceURI {
		t.Errorf("record read back %+v", got)
	}
}
