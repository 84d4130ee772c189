package seal

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"credo"
	"credo/sqlite"
	"credo/storetest"
)

// countingKeys counts the stored keys read one by one (SubjectKeys) and as
// ranges (SubjectKeysRange) under a sealed store.
type countingKeys struct {
	*sqlite.DB
	lookups, ranges int
}

func (c *countingKeys) SubjectKeys(ctx context.Context, ps []string) ([]credo.SubjectKey, error) {
	c.lookups += len(ps)
	return c.DB.SubjectKeys(ctx, ps)
}

func (c *countingKeys) SubjectKeysRange(ctx context.Context, first, last string) ([]credo.SubjectKey, error) {
	c.ranges++
	return c.DB.SubjectKeysRange(ctx, first, last)
}

// TestScanFactsKeysInRanges: a scan of the facts whose subjects' keys are
// not cached (a city larger than the cache) reads them as ranges of the key
// table, not one by one, and names every subject and party exactly as a
// scan with every key cached does; linked parties and subjects without
// facts between them do not get in the way.
func TestScanFactsKeysInRanges(t *testing.T) {
	ctx := context.Background()
	const n = 5000
	db, k, s, rs := sealedRecords(t, n)
	// Links: facts naming parties outside each subject's range, and
	// persons with keys but no records between the subjects.
	var links []*credo.Event
	for i := range 300 {
		links = append(links, &credo.Event{Type: credo.EventLinkAdded, Subject: storetest.USCC(i), Actor: "samr",
			Link: &credo.Link{Org: storetest.USCC(i), Person: storetest.RIC(n + i), Role: credo.RoleLegalRepresentative, From: rs[0].DecidedAt}})
	}
	if _, err := s.Append(ctx, links); err != nil {
		t.Fatal(err)
	}
	// s is left open: closing it closes db.
	scan := func(cache int) (string, *countingKeys) {
		c := &countingKeys{DB: db}
		st, err := Open(ctx, c, k, Options{CacheSize: cache})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		if err := st.ScanFacts(ctx, "", "", func(subject string, evs []credo.Event) error {
			b, err := json.Marshal(evs)
			out = append(out, fmt.Sprintf("%s %s", subject, b))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(out) < n {
			t.Fatalf("%d subjects scanned, want at least %d", len(out), n)
		}
		b, _ := json.Marshal(out)
		return string(b), c
	}
	small, cs := scan(16)
	large, _ := scan(1 << 20)
	if small != large {
		t.Fatal("a scan with a small key cache names the subjects and parties otherwise than with every key cached")
	}
	t.Logf("small cache: %d keys looked up one by one, %d ranges read", cs.lookups, cs.ranges)
	if cs.ranges == 0 || cs.lookups > n/2 {
		t.Fatalf("small cache: %d keys looked up one by one and %d ranges read; want the subjects' keys read as ranges", cs.lookups, cs.ranges)
	}
}

// BenchmarkScanFactsUncached scans 20,000 subjects' facts through a sealed
// store whose key cache holds none of them (a city ten times the cache),
// with the keys read as ranges and, for the baseline, one by one.
func BenchmarkScanFactsUncached(b *testing.B) {
	ctx := context.Background()
	const n = 20000
	db, k, _, _ := sealedRecords(b, n)
	for _, keys := range []string{"ranges", "one-by-one"} {
		b.Run("keys="+keys, func(b *testing.B) {
			if keys == "one-by-one" {
				defer func(m int) { rangeKeysMin = m }(rangeKeysMin)
				rangeKeysMin = math.MaxInt
			}
			for b.Loop() {
				st, err := Open(ctx, db, k, Options{CacheSize: 16})
				if err != nil {
					b.Fatal(err)
				}
				seen := 0
				if err := st.ScanFacts(ctx, "", "", func(string, []credo.Event) error { seen++; return nil }); err != nil || seen != n {
					b.Fatal(seen, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/subject")
		})
	}
}

// sealedRecords files n records of n subjects, 5,000 a call, into a new
// sealed SQLite store (closed with the test) and returns it, its keys,
// the sealed store over it and the records.
func sealedRecords(tb testing.TB, n int) (*sqlite.DB, *Keys, *Store, []*credo.Record) {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(tb.TempDir(), "credo.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	k := &Keys{}
	k.Lookup[0], k.KEK[0] = 3, 4
	s, err := Open(ctx, db, k, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	var rs []*credo.Record
	for i := range n {
		rs = append(rs, storetest.NewRecord("court.test", i, i))
	}
	for lo := 0; lo < n; lo += 5000 {
		if _, err := s.FileRecords(ctx, rs[lo:min(lo+5000, n)]); err != nil {
			tb.Fatal(err)
		}
	}
	return db, k, s, rs
}
