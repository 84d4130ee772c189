package simulate_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"credo/registry"
	"credo/simulate"
	"credo/sqlite"
)

// BenchmarkRun simulates policies/beijing-draft.yaml against the policy in
// force on a registry, and, as the baseline in the same run, builds the
// live decision table of the same registry (registry.Open): the table
// evaluates every subject with events once, the simulation twice.
//
// CREDO_SIM_DB names an existing registry to use (a copy: opening it may
// issue missing notices); otherwise a synthetic city of CREDO_SIM_PEOPLE
// people (default 20,000) and a tenth as many organisations is filed first.
//
//	go test ./simulate -run '^$' -bench Run -benchtime 1x -count 5
//	CREDO_SIM_DB=/path/to/city-copy.db go test ./simulate -run '^$' -bench Run -benchtime 1x -count 5 -timeout 1h
func BenchmarkRun(b *testing.B) {
	ctx := context.Background()
	path := os.Getenv("CREDO_SIM_DB")
	if path == "" {
		people := 20000
		if v := os.Getenv("CREDO_SIM_PEOPLE"); v != "" {
			var err error
			if people, err = strconv.Atoi(v); err != nil {
				b.Fatal(err)
			}
		}
		path = tempDB(b)
		_, st, _, _ := synthCity(b, path, people, people/10)
		st.Close()
	}
	st, err := sqlite.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	reg, err := registry.Open(ctx, st, registry.Options{NoTable: true})
	if err != nil {
		b.Fatal(err)
	}
	draftSrc, err := os.ReadFile("../policies/beijing-draft.yaml")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	cur, draft, err := simulate.Versions(reg.Engine(), now, now, "beijing-draft.yaml", draftSrc)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("simulate", func(b *testing.B) {
		var r *simulate.Report
		for b.Loop() {
			if r, err = simulate.Run(ctx, st, cur, draft, now, simulate.Options{}); err != nil {
				b.Fatal(err)
			}
		}
		el := b.Elapsed().Seconds() / float64(b.N)
		b.ReportMetric(float64(r.Population.Subjects)/el, "subjects/s")
		b.ReportMetric(float64(r.Population.Subjects), "subjects")
		b.ReportMetric(r.Timing.Load.Seconds(), "load-s")
		b.ReportMetric(r.Timing.Evaluate.Seconds(), "evaluate-s")
		b.ReportMetric(float64(r.Changed), "changed")
	})
	b.Run("table", func(b *testing.B) {
		n := 0
		for b.Loop() {
			reg, err := registry.Open(ctx, st, registry.Options{})
			if err != nil {
				b.Fatal(err)
			}
			t, err := reg.Table(ctx)
			if err != nil {
				b.Fatal(err)
			}
			n = t.Len()
		}
		el := b.Elapsed().Seconds() / float64(b.N)
		b.ReportMetric(float64(n)/el, "subjects/s")
		b.ReportMetric(float64(n), "subjects")
	})
}
