package registry_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"credo"
	"credo/registry"
)

// BenchmarkS03Rebuild re-evaluates a generated city from the facts
// projection (facts) and from the event log (log: the same store with the
// projection hidden), in one run, for the same-run ratio:
//
//	BENCH_PEOPLE=20000 go test ./registry -run '^$' -bench S03Rebuild -benchtime 3x -count 3
func BenchmarkS03Rebuild(b *testing.B) {
	for _, n := range benchPeople(b) {
		for _, src := range []string{"facts", "log"} {
			b.Run("people="+strconv.Itoa(n)+"/from="+src, func(b *testing.B) {
				c := cityStore(b, n)
				ctx := context.Background()
				st := registryStore(c, src)
				reg, err := registry.Open(ctx, st, registry.Options{Now: func() time.Time { return c.now }, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				cpu := cpuTime()
				for b.Loop() {
					if err := reg.Rebuild(ctx); err != nil {
						b.Fatal(err)
					}
				}
				per := b.Elapsed().Seconds() / float64(b.N)
				b.ReportMetric(float64(c.records)/per, "records/s")
				b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N)/float64(c.subjects), "cpu-µs/subject")
			})
		}
	}
}

// registryStore is the city's store, with the facts projection hidden
// for src "log".
func registryStore(c *benchCity, src string) credo.RegistryStore {
	if src == "log" {
		return logOnly{c.st}
	}
	return c.st
}
