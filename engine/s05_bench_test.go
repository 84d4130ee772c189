package engine_test

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/engine"
)

// BenchmarkS05TableMemoryRules is BenchmarkTableMemory with every entry's
// rule mask (what a registry's table holds since issue 19 item 5), in the
// same run as the table without masks: bytes/subject of each.
func BenchmarkS05TableMemoryRules(b *testing.B) {
	pol := testPolicy(b)
	now := day(2026, 6, 1)
	for _, n := range benchSizes(b, 200_000) {
		ids := scaleIDs(b, n, now)
		rules := []string{"JUDGMENT_DEFAULT", "LATE_UTILITY", "FAKE_GOODS", "SPEEDING"}
		for _, masks := range []bool{false, true} {
			b.Run("subjects="+strconv.Itoa(n)+"/masks="+strconv.FormatBool(masks), func(b *testing.B) {
				var perSubject float64
				for b.Loop() {
					before := heapInUse()
					t := engine.NewTable(pol, "bench", nil, now)
					for i, s := range ids {
						e := engine.Entry{Next: now.Add(time.Duration(i%1000) * time.Hour).UnixNano()}
						e.InForce.Add(i % 7)
						s = strings.Clone(s)
						if !masks {
							t.Put(s, e, true)
							continue
						}
						rec := &credo.Record{Rule: rules[i%len(rules)]}
						t.PutFacts(s, e, &engine.Facts{Events: []credo.Event{{Type: credo.EventRecordFiled, Record: rec}}})
					}
					after := heapInUse()
					perSubject = float64(after-before) / float64(n)
					runtime.KeepAlive(t)
				}
				b.ReportMetric(perSubject, "bytes/subject")
			})
		}
	}
}

// BenchmarkS05CarryOver is the carry-over of a table of BENCH_TABLE_SIZES
// subjects (default 200,000) to a version whose measures moved, with one
// rule's subjects (a quarter of them) handed back: the part of an
// incremental re-evaluation that grows with the whole table.
func BenchmarkS05CarryOver(b *testing.B) {
	pol, pol2 := testPolicy(b), s05Reordered(b)
	now := day(2026, 6, 1)
	rules := []string{"JUDGMENT_DEFAULT", "LATE_UTILITY", "FAKE_GOODS", "SPEEDING"}
	for _, n := range benchSizes(b, 200_000) {
		b.Run("subjects="+strconv.Itoa(n), func(b *testing.B) {
			ids := scaleIDs(b, n, now)
			old := engine.NewTable(pol, "v1", nil, now)
			for i, s := range ids {
				e := engine.Entry{Next: now.Add(time.Duration(1+i%1000) * time.Hour).UnixNano()}
				e.InForce.Add(i % 7)
				rec := &credo.Record{Rule: rules[i%len(rules)]}
				old.PutFacts(strings.Clone(s), e, &engine.Facts{Events: []credo.Event{{Type: credo.EventRecordFiled, Record: rec}}})
			}
			affected := old.RuleBits([]string{"SPEEDING"})
			var reeval []string
			for b.Loop() {
				to := engine.NewTable(pol2, "v2", nil, now)
				reeval, _ = old.CarryOver(to, affected, now)
			}
			if len(reeval) != n/len(rules) {
				b.Fatalf("%d handed back, want %d", len(reeval), n/len(rules))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/subject")
		})
	}
}
