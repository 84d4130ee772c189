package engine_test

import (
	"testing"
	"time"

	"credo/engine"
	"credo/policy"
)

// s04FastBench is the table's own evaluation in BenchmarkS04TableBuild.
func s04FastBench(b *testing.B, run func(*testing.B, func(*engine.Facts) engine.Entry), pol *policy.Policy, now time.Time) {
	b.Run("entry", func(b *testing.B) {
		ev := engine.NewEvaluator()
		run(b, func(f *engine.Facts) engine.Entry { return ev.Entry(pol, f, now, now) })
	})
}
