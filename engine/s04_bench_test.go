package engine_test

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"credo/engine"
	"credo/policies"
	"credo/policy"
)

var (
	s04Once sync.Once
	s04City *genCity
	s04Pol  *policy.Policy
)

// s04Fixture is a generated city under the example policy: BENCH_S04_PEOPLE
// people (default 20,000) and a tenth as many organisations.
func s04Fixture(b *testing.B) (*policy.Policy, *genCity) {
	s04Once.Do(func() {
		pol, err := policy.Parse("beijing.yaml", policies.Beijing)
		if err != nil {
			b.Fatal(err)
		}
		people := 20000
		if s := os.Getenv("BENCH_S04_PEOPLE"); s != "" {
			if people, err = strconv.Atoi(s); err != nil {
				b.Fatal(err)
			}
		}
		s04Pol, s04City = pol, cityFacts(b, pol, people, people/10)
	})
	if s04City == nil {
		b.Fatal("fixture failed")
	}
	return s04Pol, s04City
}

// BenchmarkS04TableBuild builds the decision table of a generated city
// (every subject with events) with the full evaluation (explain: what the
// table used before) and with the table's own evaluation (entry), in the
// same run. One op is one whole table; ns/subject and allocs/subject are
// per subject with events.
func BenchmarkS04TableBuild(b *testing.B) {
	pol, c := s04Fixture(b)
	now := c.end
	var subjects []string
	for _, s := range c.subjects {
		if len(c.facts[s].Events) > 0 {
			subjects = append(subjects, s)
		}
	}
	run := func(b *testing.B, entry func(f *engine.Facts) engine.Entry) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t := engine.NewTable(pol, "bench", nil, now)
			for _, s := range subjects {
				t.Put(s, entry(c.facts[s]), true)
			}
		}
		b.StopTimer()
		runtime.ReadMemStats(&after)
		n := float64(b.N) * float64(len(subjects))
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/subject")
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/subject")
		b.ReportMetric(float64(len(subjects)), "subjects")
	}
	b.Run("explain", func(b *testing.B) {
		run(b, func(f *engine.Facts) engine.Entry { return engine.EntryOf(engine.Evaluate(pol, f, now, now)) })
	})
	s04FastBench(b, run, pol, now)
}

var _ = time.Now
