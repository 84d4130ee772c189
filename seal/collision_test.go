package seal

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"credo"
	"credo/sqlite"
	"credo/storetest"
)

// collidingStore opens a sealed store whose keyed hashes are cut to a few
// bits, so that collisions, at the real lengths one in billions, happen.
func collidingStore(t *testing.T, subjectBits, caseBits int) *Store {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "credo.db"))
	if err != nil {
		t.Fatal(err)
	}
	k := &Keys{}
	k.Lookup[0], k.KEK[0] = 1, 2
	s, err := Open(context.Background(), db, k, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.f.subjectBits, s.f.caseBits = subjectBits, caseBits
	s.h = newHasher(k.Lookup[:], s.f)
	return s
}

// TestSubjectPseudonymCollision: two subjects whose pseudonyms collide
// are never merged. The second one's records are refused (its key would
// be the first one's), and it reads as unknown: not its events, checks,
// erasure or disputes as the first one's.
func TestSubjectPseudonymCollision(t *testing.T) {
	ctx := context.Background()
	s := collidingStore(t, 6, 80)
	seen := map[string]int{}
	a, b := 0, 0
	for i := 1; b == 0; i++ {
		p := s.Pseudonym(storetest.RIC(i))
		if j, ok := seen[p]; ok {
			a, b = j, i
		}
		seen[p] = i
	}
	ra, rb := storetest.NewRecord("court.test", 1, a), storetest.NewRecord("court.test", 2, b)
	if _, err := s.FileRecords(ctx, []*credo.Record{ra}); err != nil {
		t.Fatal(err)
	}
	if err := s.LogChecks(ctx, []credo.CheckEntry{{ID: "c1", Subject: ra.Subject, Sector: "aviation", Decision: "deny"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FileRecords(ctx, []*credo.Record{rb}); err == nil || !strings.Contains(err.Error(), "names two identifiers") {
		t.Errorf("filing for the colliding subject: %v", err)
	}
	if evs, err := s.SubjectEvents(ctx, rb.Subject); err != nil || len(evs) != 0 {
		t.Errorf("the colliding subject reads %d events (%v): the other's", len(evs), err)
	}
	if cs, err := s.ChecksOf(ctx, rb.Subject, 10); err != nil || len(cs) != 0 {
		t.Errorf("the colliding subject reads %d checks (%v)", len(cs), err)
	}
	if err := s.LogChecks(ctx, []credo.CheckEntry{{ID: "c2", Subject: rb.Subject, Sector: "aviation", Decision: "allow"}}); err == nil {
		t.Error("a check of the colliding subject logged under the other's pseudonym")
	}
	if n, err := s.DeleteChecksOf(ctx, rb.Subject); err != nil || n != 0 {
		t.Errorf("deleting the colliding subject's checks deleted %d (%v)", n, err)
	}
	if ds, err := s.Disputes(ctx, credo.DisputeFilter{Subject: rb.Subject}); err != nil || len(ds) != 0 {
		t.Errorf("the colliding subject reads %d disputes (%v)", len(ds), err)
	}
	if _, err := s.Erase(ctx, rb.Subject, credo.Erasure{Reason: "r", LegalBasis: "b"}); credo.ErrorCode(err) != credo.ENOTFOUND {
		t.Errorf("erasing the colliding subject: %v, want ENOTFOUND", err)
	}
	if evs, err := s.SubjectEvents(ctx, ra.Subject); err != nil || len(evs) != 1 {
		t.Errorf("the first subject has %d events (%v), want 1", len(evs), err)
	}
	if cs, err := s.ChecksOf(ctx, ra.Subject, 10); err != nil || len(cs) != 1 {
		t.Errorf("the first subject has %d checks (%v), want 1", len(cs), err)
	}
}

// TestCaseHashCollision: a record whose case reference has the keyed hash
// of another case of its authority is refused with an error that says so
// (the store compares the sealed bytes: never a re-filing of the other),
// in another call or the same one; and looking it up does not find the
// other.
func TestCaseHashCollision(t *testing.T) {
	ctx := context.Background()
	s := collidingStore(t, 100, 6)
	seen := map[string]int{}
	var pairs [][2]int
	for i := 1; len(pairs) < 2; i++ {
		c := s.CaseRef("court.test", storetest.NewRecord("court.test", i, 1).CaseRef)
		if j, ok := seen[c]; ok {
			pairs = append(pairs, [2]int{j, i})
			delete(seen, c)
			continue
		}
		seen[c] = i
	}
	r1, r2 := storetest.NewRecord("court.test", pairs[0][0], 1), storetest.NewRecord("court.test", pairs[0][1], 2)
	if _, err := s.FileRecords(ctx, []*credo.Record{r1}); err != nil {
		t.Fatal(err)
	}
	_, err := s.FileRecords(ctx, []*credo.Record{r2})
	if credo.ErrorCode(err) != credo.ECONFLICT || !strings.Contains(err.Error(), "same 6-bit keyed hash") || strings.Contains(err.Error(), r1.CaseRef) {
		t.Errorf("filing a colliding case: %v", err)
	}
	if r, err := s.RecordByCase(ctx, "court.test", r2.CaseRef); credo.ErrorCode(err) != credo.ENOTFOUND {
		t.Errorf("the colliding case finds %+v (%v)", r, err)
	}
	if r, err := s.RecordByCase(ctx, "court.test", r1.CaseRef); err != nil || r.Subject != r1.Subject {
		t.Errorf("the first case: %+v (%v)", r, err)
	}
	r3, r4 := storetest.NewRecord("court.test", pairs[1][0], 3), storetest.NewRecord("court.test", pairs[1][1], 4)
	if _, err := s.FileRecords(ctx, []*credo.Record{r3, r4}); credo.ErrorCode(err) != credo.ECONFLICT || !strings.Contains(err.Error(), "keyed hash") {
		t.Errorf("filing two colliding cases in one call: %v", err)
	}
}
