package registry_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"credo/policies"
	"credo/registry"
)

var s05Versions int // publications of the benchmark so far: each is new

// BenchmarkS05Reevaluate (issue 19 item 5) is the re-evaluation of a
// generated city (BENCH_PEOPLE, default 20,000 people) after a version
// that changes one rule's points (CONTRACT_DEFAULT), in the same run:
// "full" is the full rebuild a publication did before (Registry.Rebuild),
// "incremental" the whole publication now (append, parse, diff, carry
// over, re-evaluate the affected subjects, snapshot none; ms-last-reeval
// is the last one's diff, carry-over and re-evaluation alone). Run it with
// -benchtime=3x or so: one iteration is one re-evaluation.
func BenchmarkS05Reevaluate(b *testing.B) {
	for _, n := range benchPeople(b) {
		b.Run("people="+strconv.Itoa(n), func(b *testing.B) {
			c := s05BenchCity(b, n)
			ctx := context.Background()
			reg := c.open(b, nil)
			b.Run("full", func(b *testing.B) {
				cpu := cpuTime()
				for b.Loop() {
					if err := reg.Rebuild(ctx); err != nil {
						b.Fatal(err)
					}
				}
				s05Metrics(b, reg, cpu)
			})
			b.Run("incremental", func(b *testing.B) {
				logs := &syncBuffer{}
				inc := c.open(b, logs)
				var cpu time.Duration
				for b.Loop() {
					if cpu == 0 {
						cpu = cpuTime() // after the opening rebuild
					}
					s05Versions++
					c.clock.t = c.clock.t.Add(time.Second)
					src := strings.Replace(string(policies.Beijing), "    points: {civic: -20}\n", fmt.Sprintf("    points: {civic: -%d}\n", 20+s05Versions), 1)
					src = strings.Replace(src, `version: "2026.1"`, fmt.Sprintf(`version: "2026.1.%d"`, s05Versions), 1)
					if _, _, err := inc.Publish(ctx, "v.yaml", []byte(src), c.clock.t); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				got := lastReevaluation(b, logs)
				if got.how != "incremental" {
					b.Fatalf("re-evaluated %+v", got)
				}
				b.ReportMetric(float64(got.reevaluated), "reevaluated")
				b.ReportMetric(float64(got.took.Microseconds())/1e3, "ms-last-reeval")
				s05Metrics(b, inc, cpu)
			})
		})
	}
}

var s05Cities = map[int]*s05City{}

// s05BenchCity generates the city of n people once per test binary (in
// the benchmarks' directory, removed by TestMain).
func s05BenchCity(b *testing.B, n int) *s05City {
	if c := s05Cities[n]; c != nil {
		return c
	}
	if benchDir == "" {
		d, err := os.MkdirTemp("", "credo-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = d
	}
	c := newS05City(b, benchDir, n, false)
	s05Cities[n] = c
	return c
}

// s05Metrics reports the time of one re-evaluation per subject with an
// entry.
func s05Metrics(b *testing.B, reg *registry.Registry, cpu time.Duration) {
	t, err := reg.Table(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	per := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(per*1e3, "ms/reeval")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1e3/float64(b.N), "cpu-ms/reeval")
	b.ReportMetric(float64(t.Len()), "subjects")
}
