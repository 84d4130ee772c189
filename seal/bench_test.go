package seal_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/policies"
	"credo/policy"
	"credo/registry"
	"credo/seal"
	"credo/sqlite"
	"credo/storetest"
	"credo/synth"
)

// benchPeople is the size of the benchmarks' city ($SEAL_BENCH_PEOPLE,
// default 20,000 people and 2,000 organisations: about 90,000 records).
func benchPeople() int {
	if n, err := strconv.Atoi(os.Getenv("SEAL_BENCH_PEOPLE")); err == nil && n > 0 {
		return n
	}
	return 20000
}

type benchCity struct {
	pol     *policy.Policy
	end     time.Time
	links   []credo.Link
	records []credo.Record
}

func newBenchCity(b *testing.B, people int) *benchCity {
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		b.Fatal(err)
	}
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, pol.Location())
	city, err := synth.New(synth.Config{People: people, Orgs: people / 10, Years: 5, Seed: 1, End: end, Policy: pol})
	if err != nil {
		b.Fatal(err)
	}
	c := &benchCity{pol: pol, end: end}
	city.Links(func(l credo.Link) error { c.links = append(c.links, l); return nil })
	city.Records(func(r *credo.Record) error { c.records = append(c.records, *r); return nil })
	return c
}

// open opens a new registry file, sealed or not.
func (c *benchCity) open(b *testing.B, path string, sealed bool, opts registry.Options) (credo.Store, *registry.Registry) {
	ctx := context.Background()
	now := c.end.Add(12 * time.Hour)
	db, err := sqlite.OpenOptions(path, sqlite.Options{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	var st credo.RegistryStore = db
	if sealed {
		if st, err = seal.Open(ctx, db, testKeys, seal.Options{}); err != nil {
			b.Fatal(err)
		}
	}
	opts.Now, opts.Logger = func() time.Time { return now }, slog.New(slog.DiscardHandler)
	reg, err := registry.Open(ctx, st, opts)
	if err != nil {
		b.Fatal(err)
	}
	return st, reg
}

// ingest files the city into a new registry: what `credo ingest` does, in
// batches of 10,000 records. It returns the wall and CPU time it took.
func (c *benchCity) ingest(b *testing.B, path string, sealed bool) (wall, cpu time.Duration, st credo.Store) {
	ctx := context.Background()
	st, reg := c.open(b, path, sealed, registry.Options{NoTable: true})
	if _, _, err := reg.Publish(ctx, "beijing.yaml", policies.Beijing, c.end.AddDate(-5, 0, -1)); err != nil {
		b.Fatal(err)
	}
	start, cpu0 := time.Now(), storetest.CPUTime()
	var evs []*credo.Event
	for i := range c.links {
		l := c.links[i]
		evs = append(evs, &credo.Event{Type: credo.EventLinkAdded, Subject: l.Org, Actor: "samr.beijing", Link: &l})
	}
	for i := 0; i < len(evs); i += 5000 {
		if _, err := reg.Append(ctx, evs[i:min(i+5000, len(evs))]...); err != nil {
			b.Fatal(err)
		}
	}
	batch := make([]*credo.Record, 0, 10000)
	for i := range c.records {
		r := c.records[i]
		batch = append(batch, &r)
		if len(batch) == cap(batch) || i == len(c.records)-1 {
			if _, err := reg.FileRecords(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return time.Since(start), storetest.CPUTime() - cpu0, st
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkE07SealingOverhead measures, in the same run and interleaved
// (plain, sealed, plain, sealed, ...), bulk ingest of a synthetic city and
// the rebuild of its decision table with and without the sealing layer;
// it reports the medians and the overhead (target ≤ 15 %). One iteration
// is the whole comparison: run it with -benchtime=1x.
func BenchmarkE07SealingOverhead(b *testing.B) {
	c := newBenchCity(b, benchPeople())
	rounds := 5
	if n, err := strconv.Atoi(os.Getenv("SEAL_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	for b.Loop() {
		dir := b.TempDir()
		var ingest, ingestCPU, rebuild, rebuildCPU [2][]time.Duration
		var last [2]*registry.Registry
		for r := range rounds {
			for k, sealed := range []bool{false, true} {
				path := filepath.Join(dir, fmt.Sprintf("r%d-%v.db", r, sealed))
				wall, cpu, st := c.ingest(b, path, sealed)
				ingest[k], ingestCPU[k] = append(ingest[k], wall), append(ingestCPU[k], cpu)
				st.Close()
			}
		}
		for k, sealed := range []bool{false, true} {
			_, last[k] = c.open(b, filepath.Join(dir, fmt.Sprintf("r0-%v.db", sealed)), sealed, registry.Options{})
		}
		ctx := context.Background()
		for range rounds {
			for k := range 2 {
				start, cpu0 := time.Now(), storetest.CPUTime()
				if err := last[k].Rebuild(ctx); err != nil {
					b.Fatal(err)
				}
				rebuild[k], rebuildCPU[k] = append(rebuild[k], time.Since(start)), append(rebuildCPU[k], storetest.CPUTime()-cpu0)
			}
		}
		t0, _ := last[0].Table(ctx)
		t1, _ := last[1].Table(ctx)
		if t0.Len() != t1.Len() || t0.Len() == 0 {
			b.Fatalf("tables of %d and %d subjects", t0.Len(), t1.Len())
		}
		rec := float64(len(c.records))
		for _, m := range []struct {
			name string
			v    [2][]time.Duration
		}{{"ingest", ingest}, {"ingest-cpu", ingestCPU}, {"rebuild", rebuild}, {"rebuild-cpu", rebuildCPU}} {
			p, s := median(m.v[0]), median(m.v[1])
			b.ReportMetric(rec/p.Seconds(), m.name+"-plain-records/s")
			b.ReportMetric(rec/s.Seconds(), m.name+"-sealed-records/s")
			b.ReportMetric(100*(s.Seconds()/p.Seconds()-1), m.name+"-overhead-%")
		}
		b.ReportMetric(rec, "records")
		b.ReportMetric(float64(t1.Len()), "subjects")
	}
}

// BenchmarkE07SealedCheck is a check in process on a sealed registry: the
// decision table keeps plain identifiers in memory, so a check never
// touches a key (target ≤ 200 ns, 0 allocations).
func BenchmarkE07SealedCheck(b *testing.B) {
	for _, sealed := range []bool{false, true} {
		b.Run(fmt.Sprintf("sealed=%v", sealed), func(b *testing.B) {
			c := newBenchCity(b, 5000)
			path := filepath.Join(b.TempDir(), "c.db")
			_, _, st := c.ingest(b, path, sealed)
			st.Close()
			st, reg := c.open(b, path, sealed, registry.Options{})
			defer st.Close()
			ctx := context.Background()
			t, err := reg.Table(ctx)
			if err != nil {
				b.Fatal(err)
			}
			ref, _ := t.Sector("aviation")
			var subjects []string
			for i := range c.records {
				subjects = append(subjects, c.records[i].Subject)
			}
			now := c.end.Add(12 * time.Hour)
			b.ReportAllocs()
			b.ResetTimer()
			denies := 0
			for i := 0; i < b.N; i++ {
				v, err := t.Check(subjects[i%len(subjects)], ref, now)
				if err != nil {
					b.Fatal(err)
				}
				if v.Effect == engine.EffectDeny {
					denies++
				}
			}
			if b.N > len(subjects) && denies == 0 {
				b.Fatal("no subject denied")
			}
		})
	}
}

// BenchmarkE07Ingest is one bulk ingest of the benchmarks' city, sealed
// or not: the ingest half of BenchmarkE07SealingOverhead alone, to profile
// (-cpuprofile with -bench 'E07Ingest/sealed=true').
func BenchmarkE07Ingest(b *testing.B) {
	c := newBenchCity(b, benchPeople())
	for _, sealed := range []bool{false, true} {
		b.Run(fmt.Sprintf("sealed=%v", sealed), func(b *testing.B) {
			dir := b.TempDir()
			n := 0
			for b.Loop() {
				n++
				_, _, st := c.ingest(b, filepath.Join(dir, fmt.Sprintf("i%d.db", n)), sealed)
				st.Close()
			}
			b.ReportMetric(float64(len(c.records)), "records")
		})
	}
}
