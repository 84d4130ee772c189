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
// force on a registry and, as the baseline in the same iteration, builds
// the live decision table of the same registry (registry.Open): both read
// the whole log; the table evaluates every subject with events once, the
// simulation twice (on all cores).
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
	// Each iteration times a simulation and a table build back to back,
	// so that both see the same load on the machine; the ratio is per pair.
	var r *simulate.Report
	var simT, tableT time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		if r, err = simulate.Run(ctx, st, cur, draft, now, simulate.Options{}); err != nil {
			b.Fatal(err)
		}
		simT += time.Since(start)
		start = time.Now()
		reg, err := registry.Open(ctx, st, registry.Options{})
		if err != nil {
			b.Fatal(err)
		}
		t, err := reg.Table(ctx)
		if err != nil {
			b.Fatal(err)
		}
		tableT += time.Since(start)
		n = t.Len()
	}
	sim := simT.Seconds() / float64(b.N)
	table := tableT.Seconds() / float64(b.N)
	b.ReportMetric(sim, "simulate-s")
	b.ReportMetric(table, "table-s")
	b.ReportMetric(sim/table, "ratio")
	b.ReportMetric(float64(r.Population.Subjects)/sim, "subjects/s")
	b.ReportMetric(float64(r.Population.Subjects), "subjects")
	b.ReportMetric(float64(n), "table-subjects")
	b.ReportMetric(r.Timing.Load.Seconds(), "load-s")
	b.ReportMetric(r.Timing.Evaluate.Seconds(), "evaluate-s")
}

// BenchmarkCensus measures the subjects without events: a census of a
// synthetic city of CREDO_SIM_PEOPLE people (default 1,000,000) and a
// tenth as many organisations against a registry with no records, so
// that every subject takes the census path (parse, cached default state,
// counts).
func BenchmarkCensus(b *testing.B) {
	ctx := context.Background()
	people := 1_000_000
	if v := os.Getenv("CREDO_SIM_PEOPLE"); v != "" {
		var err error
		if people, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	_, st, _, c := synthCity(b, tempDB(b), 0, 0) // a registry with the policy and no records
	big, err := synthFor(people, people/10)
	if err != nil {
		b.Fatal(err)
	}
	reg := openTableless(b, st, c)
	draftSrc, err := os.ReadFile("../policies/beijing-draft.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cur, draft, err := simulate.Versions(reg.Engine(), synthT, synthT, "beijing-draft.yaml", draftSrc)
	if err != nil {
		b.Fatal(err)
	}
	var r *simulate.Report
	for b.Loop() {
		if r, err = simulate.Run(ctx, st, cur, draft, synthT, simulate.Options{Census: census(big, people, people/10)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(r.Population.Subjects)/(b.Elapsed().Seconds()/float64(b.N)), "subjects/s")
}
