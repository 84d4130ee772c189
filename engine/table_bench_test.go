package engine_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"credo/engine"
	"credo/synth"
)

// benchSizes returns the table sizes (subjects with records) that the
// scaling benchmarks use: BENCH_TABLE_SIZES is a comma-separated list of sizes
// (e.g. 1000000,5000000,22000000); the default is small enough for a
// quick run.
func benchSizes(b *testing.B, def ...int) []int {
	s := os.Getenv("BENCH_TABLE_SIZES")
	if s == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("BENCH_TABLE_SIZES: %q is not a positive size", f)
		}
		out = append(out, n)
	}
	return out
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// scaleIDs returns n subject identifiers shaped like the synthetic city's:
// one in eleven is an organisation.
func scaleIDs(b *testing.B, n int, now time.Time) []string {
	orgs := n / 11
	city, err := synth.New(synth.Config{Policy: testPolicy(b), People: n - orgs, Orgs: orgs, End: now, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, n)
	for i := range n - orgs {
		ids[i] = city.Person(i)
	}
	for i := range orgs {
		ids[n-orgs+i] = city.Org(i)
	}
	return ids
}

// fillScale puts an entry for every subject, with a spread of measure sets
// and next-change instants.
func fillScale(t *engine.Table, ids []string, now time.Time) {
	for i, s := range ids {
		var e engine.Entry
		e.InForce.Add(i % 7)
		if i%3 == 0 {
			e.InForce.Add(70 + i%5)
		}
		e.Next = now.Add(time.Duration(i%1000) * time.Hour).UnixNano()
		t.Put(strings.Clone(s), e, true) // the key outlives the events it came from
	}
}

// BenchmarkTableMemory measures the decision table's heap per subject with
// an entry of its own, at the sizes BENCH_TABLE_SIZES lists. Run it with
// -benchtime=1x: one iteration builds one table of that size.
func BenchmarkTableMemory(b *testing.B) {
	pol := testPolicy(b)
	now := day(2026, 6, 1)
	for _, n := range benchSizes(b, 200_000) {
		b.Run("subjects="+strconv.Itoa(n), func(b *testing.B) {
			// The identifiers are held outside the table during the build
			// (as the store's events are), so only the table is measured.
			ids := scaleIDs(b, n, now)
			var perSubject float64
			for b.Loop() {
				before := heapInUse()
				t := engine.NewTable(pol, "bench", nil, now)
				fillScale(t, ids, now)
				after := heapInUse()
				if t.Len() != n {
					b.Fatalf("table holds %d subjects, want %d", t.Len(), n)
				}
				perSubject = float64(after-before) / float64(n)
				runtime.KeepAlive(t)
			}
			b.ReportMetric(perSubject, "bytes/subject")
		})
	}
}

// BenchmarkTableMemoryNaiveMap is the baseline for the table's memory: the
// obvious structure, one map from the identifier string to the entry.
func BenchmarkTableMemoryNaiveMap(b *testing.B) {
	now := day(2026, 6, 1)
	for _, n := range benchSizes(b, 200_000) {
		b.Run("subjects="+strconv.Itoa(n), func(b *testing.B) {
			ids := scaleIDs(b, n, now)
			var perSubject float64
			for b.Loop() {
				before := heapInUse()
				m := map[string]engine.Entry{}
				for i, s := range ids {
					var e engine.Entry
					e.InForce.Add(i % 7)
					e.Next = now.Add(time.Duration(i%1000) * time.Hour).UnixNano()
					m[strings.Clone(s)] = e
				}
				after := heapInUse()
				perSubject = float64(after-before) / float64(n)
				runtime.KeepAlive(m)
			}
			b.ReportMetric(perSubject, "bytes/subject")
		})
	}
}

// BenchmarkTableSnapshot is the decision-table part of a node's cold start:
// writing the table of n subjects to a file and reading it back (the
// events after the snapshot are then refreshed one by one). Run it with
// -benchtime=1x.
func BenchmarkTableSnapshot(b *testing.B) {
	pol := testPolicy(b)
	now := day(2026, 6, 1)
	for _, n := range benchSizes(b, 200_000) {
		b.Run("subjects="+strconv.Itoa(n), func(b *testing.B) {
			t := engine.NewTable(pol, "bench", nil, now)
			fillScale(t, scaleIDs(b, n, now), now)
			path := filepath.Join(b.TempDir(), "table")
			var write, read time.Duration
			var size int64
			for b.Loop() {
				start := time.Now()
				f, err := os.Create(path)
				if err != nil {
					b.Fatal(err)
				}
				if size, err = t.WriteTo(f); err != nil {
					b.Fatal(err)
				}
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
				write = time.Since(start)
				runtime.GC()
				start = time.Now()
				f, err = os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				got, err := engine.ReadTable(f, pol, "bench", nil, now)
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
				read = time.Since(start)
				if got.Len() != n {
					b.Fatalf("read %d subjects, want %d", got.Len(), n)
				}
			}
			b.ReportMetric(write.Seconds(), "write-s")
			b.ReportMetric(read.Seconds(), "read-s")
			b.ReportMetric(float64(size)/float64(n), "file-bytes/subject")
		})
	}
}
