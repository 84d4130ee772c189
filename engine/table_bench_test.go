package engine_test

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"credo/engine"
	"credo/synth"
)

// benchSizes returns the table sizes (subjects with records) that the
// scaling benchmarks use: BENCH_SCALE is a comma-separated list of sizes
// (e.g. 1000000,5000000,22000000); the default is small enough for a
// quick run.
func benchSizes(b *testing.B, def ...int) []int {
	s := os.Getenv("BENCH_SCALE")
	if s == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("BENCH_SCALE: %q is not a positive size", f)
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

// BenchmarkTableMemory measures the decision table's heap per subject with
// an entry of its own, at the sizes BENCH_SCALE lists: one person in
// eleven is an organisation, as in the synthetic city, and entries carry
// a spread of measure sets and next-change instants. Run it with
// -benchtime=1x: one iteration builds one table of that size.
func BenchmarkTableMemory(b *testing.B) {
	pol := testPolicy(b)
	now := day(2026, 6, 1)
	for _, n := range benchSizes(b, 200_000) {
		b.Run("subjects="+strconv.Itoa(n), func(b *testing.B) {
			orgs := n / 11
			city, err := synth.New(synth.Config{Policy: pol, People: n - orgs, Orgs: orgs, End: now, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			// The identifiers are held outside the table during the build
			// (as the store's events are), so only the table is measured.
			ids := make([]string, n)
			for i := range n - orgs {
				ids[i] = city.Person(i)
			}
			for i := range orgs {
				ids[n-orgs+i] = city.Org(i)
			}
			b.ReportAllocs()
			var perSubject float64
			for b.Loop() {
				before := heapInUse()
				t := engine.NewTable(pol, "bench", nil, now)
				for i, s := range ids {
					var e engine.Entry
					e.InForce.Add(i % 7)
					if i%3 == 0 {
						e.InForce.Add(70 + i%5)
					}
					e.Next = now.Add(time.Duration(i%1000) * time.Hour).UnixNano()
					t.Put(strings.Clone(s), e, true) // the key outlives the events it came from
				}
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
