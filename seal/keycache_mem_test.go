package seal

import (
	"context"
	"math"
	"path/filepath"
	"runtime"
	"testing"

	"credo"
	"credo/sqlite"
	"credo/storetest"
)

// TestKeyCacheCompact: the key cache holds up to a million unwrapped data
// keys, so what one costs bounds the memory of a server over a whole city.
// A scan of the facts (which only names subjects) fills the cache; each
// key it keeps must stay small (its cipher is made when the key first
// seals or opens something), and such a key still seals and opens.
func TestKeyCacheCompact(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "credo.db"))
	if err != nil {
		t.Fatal(err)
	}
	k := &Keys{}
	k.Lookup[0], k.KEK[0] = 1, 2
	s, err := Open(ctx, db, k, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 4000
	var rs []*credo.Record
	for i := range n {
		rs = append(rs, storetest.NewRecord("court.test", i, i))
	}
	if _, err := s.FileRecords(ctx, rs); err != nil {
		t.Fatal(err)
	}
	// A fresh store over the same registry: an empty cache. The heap is
	// the process's: another test's goroutines can allocate meanwhile, so
	// here and below the least of three measures is taken.
	var before, after runtime.MemStats
	var s2 *Store
	per := int64(math.MaxInt64)
	for range 3 {
		var err error
		if s2, err = Open(ctx, db, k, Options{}); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&before)
		seen := 0
		if err := s2.ScanFacts(ctx, "", "", func(subject string, evs []credo.Event) error {
			seen++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if seen != n || len(s2.keys.m) != n {
			t.Fatalf("scanned %d subjects, cached %d keys, want %d", seen, len(s2.keys.m), n)
		}
		per = min(per, (int64(after.HeapAlloc)-int64(before.HeapAlloc))/n)
	}
	t.Logf("%d bytes a cached key", per)
	if per > 400 {
		t.Errorf("a cached key takes %d bytes of heap, want at most 400", per)
	}
	// Keys that sealed what they were made for are cached as small: the
	// cache keeps no cipher (a million of them was a fifth of a city
	// load's CPU in the garbage collector).
	least := int64(math.MaxInt64)
	for round := range 3 {
		s3, err := Open(ctx, db, k, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var more []*credo.Record
		for i := range n {
			more = append(more, storetest.NewRecord("court.test", (round+1)*n+i, (round+1)*n+i))
		}
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := s3.FileRecords(ctx, more); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if len(s3.keys.m) != n {
			t.Fatalf("filing cached %d keys, want %d", len(s3.keys.m), n)
		}
		least = min(least, (int64(after.HeapAlloc)-int64(before.HeapAlloc))/n)
		runtime.KeepAlive(s3)
		runtime.KeepAlive(more)
	}
	t.Logf("%d bytes a key cached by filing", least)
	if least > 400 {
		t.Errorf("a key cached by filing takes %d bytes of heap, want at most 400", least)
	}

	// Keys cached by the scan still open what was sealed under them.
	evs, err := s2.SubjectEvents(ctx, rs[7].Subject)
	if err != nil || len(evs) != 1 || evs[0].Record == nil || evs[0].Record.CaseRef != rs[7].CaseRef {
		t.Fatalf("the subject's events through a cached key: %v %+v", err, evs)
	}
	runtime.KeepAlive(s2)
}
