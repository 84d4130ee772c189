package registry_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"credo"
	"credo/policies"
	"credo/policy"
	"credo/registry"
	"credo/sqlite"
	"credo/synth"
)

// benchDir holds the generated cities of the benchmarks, for the life of
// the test binary.
var benchDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchPeople returns the city sizes (people; organisations are one in
// eleven more) of the rebuild benchmarks: BENCH_PEOPLE, comma-separated,
// default 20,000.
func benchPeople(b *testing.B) []int {
	s := os.Getenv("BENCH_PEOPLE")
	if s == "" {
		return []int{20_000}
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("BENCH_PEOPLE: %q is not a positive size", f)
		}
		out = append(out, n)
	}
	return out
}

type benchCity struct {
	path     string
	st       *sqlite.DB
	pol      *policy.Policy
	now      time.Time
	records  int
	subjects int // with records
}

var (
	benchCitiesMu sync.Mutex
	benchCities   = map[int]*benchCity{}
)

// cityStore returns a registry store holding a synthetic city of n people
// and n/10 organisations (full activity: ~4.4 records a subject, as the
// 22 M city's 100 M records), generated once per size.
func cityStore(b *testing.B, n int) *benchCity {
	b.Helper()
	benchCitiesMu.Lock()
	defer benchCitiesMu.Unlock()
	if c := benchCities[n]; c != nil {
		return c
	}
	if benchDir == "" {
		d, err := os.MkdirTemp("", "credo-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = d
	}
	ctx := context.Background()
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		b.Fatal(err)
	}
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, pol.Location())
	now := end.Add(12 * time.Hour)
	path := filepath.Join(benchDir, fmt.Sprintf("city-%d.db", n))
	st, err := sqlite.OpenOptions(path, sqlite.Options{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	reg, err := registry.Open(ctx, st, registry.Options{NoTable: true, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "beijing.yaml", policies.Beijing, end.AddDate(-5, 0, -1)); err != nil {
		b.Fatal(err)
	}
	city, err := synth.New(synth.Config{People: n, Orgs: n / 10, Years: 5, Seed: 1, End: end, Policy: pol})
	if err != nil {
		b.Fatal(err)
	}
	var links []*credo.Event
	city.Links(func(l credo.Link) error {
		links = append(links, &credo.Event{Type: credo.EventLinkAdded, Subject: l.Org, Actor: "samr.beijing", Link: &l})
		return nil
	})
	for i := 0; i < len(links); i += 5000 {
		if _, err := reg.Append(ctx, links[i:min(i+5000, len(links))]...); err != nil {
			b.Fatal(err)
		}
	}
	c := &benchCity{path: path, st: st, pol: pol, now: now}
	subjects := map[string]bool{}
	var batch []*credo.Record
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := reg.FileRecords(ctx, batch)
		batch = batch[:0]
		return err
	}
	if err := city.Records(func(r *credo.Record) error {
		rc := *r
		batch = append(batch, &rc)
		subjects[r.Subject] = true
		c.records++
		if len(batch) == 10000 {
			return flush()
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if err := flush(); err != nil {
		b.Fatal(err)
	}
	c.subjects = len(subjects)
	benchCities[n] = c
	return c
}

// cpuTime returns the CPU time (user and system, all threads) the process
// has used: on a shared machine, wall-clock rates depend on what else runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRebuild is the full re-evaluation of a city after a policy
// change: every subject's entry recomputed from the event log, as
// Registry.Rebuild does when a new version takes effect (checks are
// answered from the old table meanwhile). Run it with -benchtime=1x or a
// few x: one iteration is one rebuild.
func BenchmarkRebuild(b *testing.B) { benchRebuild(b, 0) }

// BenchmarkRebuildBySubject is the same re-evaluation with subjects loaded
// one by one from the store (what a rebuild does past
// Options.RebuildInMemoryMax): bounded memory, more queries.
func BenchmarkRebuildBySubject(b *testing.B) { benchRebuild(b, 1) }

func benchRebuild(b *testing.B, inMemoryMax int64) {
	for _, n := range benchPeople(b) {
		b.Run("people="+strconv.Itoa(n), func(b *testing.B) {
			c := cityStore(b, n)
			ctx := context.Background()
			full, err := registry.Open(ctx, c.st, registry.Options{Now: func() time.Time { return c.now }, Logger: slog.New(slog.DiscardHandler),
				RebuildInMemoryMax: inMemoryMax})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			cpu := cpuTime()
			for b.Loop() {
				if err := full.Rebuild(ctx); err != nil {
					b.Fatal(err)
				}
			}
			t, _ := full.Table(ctx)
			if t.Len() < c.subjects/2 {
				b.Fatalf("table holds %d subjects; %d have records", t.Len(), c.subjects)
			}
			per := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(c.subjects)/per, "subjects/s")
			b.ReportMetric(float64(c.records)/per, "records/s")
			b.ReportMetric(per*1e6/float64(c.subjects), "µs/subject")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N*c.subjects), "cpu-µs/subject")
		})
	}
}

// BenchmarkRebuildSQLBaseline is the baseline for re-evaluation: a SQL
// GROUP BY over the records table (by the subject index) that sums each subject's points per
// scheme with a CASE over the rules, and counts its records on each list.
// It is a deliberately simplified evaluation (no time windows, caps,
// expiry, changes, consent, tiers, measures or links), so it does less
// than the engine; it shows what a database does in one pass.
func BenchmarkRebuildSQLBaseline(b *testing.B) {
	for _, n := range benchPeople(b) {
		b.Run("people="+strconv.Itoa(n), func(b *testing.B) {
			c := cityStore(b, n)
			db, err := sql.Open("sqlite", "file:"+c.path+"?mode=ro")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			q := groupByQuery(c.pol)
			b.ResetTimer()
			cpu := cpuTime()
			for b.Loop() {
				rows, err := db.Query(q)
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for rows.Next() {
					var subject string
					var points []any
					cols, _ := rows.Columns()
					points = make([]any, len(cols)-1)
					dest := []any{&subject}
					for i := range points {
						var v int64
						points[i] = &v
						dest = append(dest, &v)
					}
					if err := rows.Scan(dest...); err != nil {
						b.Fatal(err)
					}
					got++
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				rows.Close()
				if got != c.subjects {
					b.Fatalf("%d subjects grouped, %d have records", got, c.subjects)
				}
			}
			per := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(c.subjects)/per, "subjects/s")
			b.ReportMetric(float64(c.records)/per, "records/s")
			b.ReportMetric(per*1e6/float64(c.subjects), "µs/subject")
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N*c.subjects), "cpu-µs/subject")
		})
	}
}

// groupByQuery sums points per scheme and counts list records, per subject.
func groupByQuery(pol *policy.Policy) string {
	var cols []string
	for _, sc := range pol.Schemes {
		var cases []string
		for _, r := range pol.Rules {
			if p, ok := r.Points[sc.ID]; ok && p.Each != 0 {
				cases = append(cases, fmt.Sprintf("WHEN '%s' THEN %d", r.Code, p.Each))
			}
		}
		if len(cases) > 0 {
			cols = append(cols, "SUM(CASE rule "+strings.Join(cases, " ")+" ELSE 0 END)")
		}
	}
	for _, l := range pol.Lists {
		var codes []string
		for _, r := range pol.Rules {
			if _, ok := r.Lists[l.ID]; ok {
				codes = append(codes, "'"+r.Code+"'")
			}
		}
		if len(codes) > 0 {
			cols = append(cols, "SUM(rule IN ("+strings.Join(codes, ",")+"))")
		}
	}
	// A row of records written by SQLite no longer holds its subject (it
	// is in the event's body): the subject index, in subject order, gives it.
	return "SELECT s.subject, " + strings.Join(cols, ", ") +
		" FROM subject_events s JOIN records r ON r.id = s.seq WHERE r.status = 'active' GROUP BY s.subject"
}

// BenchmarkColdStart is a node's start over the city: opening the registry
// loads the decision table from its snapshot (written once beforehand).
func BenchmarkColdStart(b *testing.B) {
	for _, n := range benchPeople(b) {
		b.Run("people="+strconv.Itoa(n), func(b *testing.B) {
			c := cityStore(b, n)
			ctx := context.Background()
			snap := c.path + ".table"
			opts := registry.Options{Now: func() time.Time { return c.now }, Snapshot: snap, Logger: slog.New(slog.DiscardHandler)}
			if _, err := registry.Open(ctx, c.st, opts); err != nil { // writes the snapshot
				b.Fatal(err)
			}
			if _, err := os.Stat(snap); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			var reg *registry.Registry
			for b.Loop() {
				var err error
				if reg, err = registry.Open(ctx, c.st, opts); err != nil {
					b.Fatal(err)
				}
			}
			t, _ := reg.Table(ctx)
			if t.Len() < c.subjects/2 {
				b.Fatalf("table holds %d subjects; %d have records", t.Len(), c.subjects)
			}
			per := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(per, "s/start")
			b.ReportMetric(per*1e6/float64(t.Len()), "µs/subject")
		})
	}
}
