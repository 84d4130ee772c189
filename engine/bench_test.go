package engine_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"credo/engine"
	"credo/policy"
)

// benchFixture is a decision table over ~100k persons, one in ten of whom
// has records, and what the CEL baseline needs for the same subjects.
type benchFixture struct {
	pol      *policy.Policy
	tbl      *engine.Table
	sector   string
	ref      *engine.SectorRef
	now      time.Time
	subjects []string            // every subject, in a fixed shuffled order
	lists    map[string][]string // subject -> lists it is on (subjects with records only)
	withRecs int
}

const benchSubjects = 100_000

var (
	benchOnce sync.Once
	bench     *benchFixture
)

func benchTable(b *testing.B) *benchFixture {
	b.Helper()
	pol := testPolicy(b)
	benchOnce.Do(func() {
		fx := &benchFixture{pol: pol, sector: "internet", now: day(2026, 6, 1), lists: map[string][]string{}}
		facts := map[string]*engine.Facts{}
		fx.tbl = engine.NewTable(pol, "bench", func(s string) (*engine.Facts, error) {
			if f, ok := facts[s]; ok {
				return f, nil
			}
			return nil, fmt.Errorf("bench: unexpected load of %s", s)
		}, fx.now)
		born := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < benchSubjects; i++ {
			birth := born.AddDate(0, 0, i%20000)
			s := ric(fmt.Sprintf("110105%s%03d", birth.Format("20060102"), 100+i/20000))
			fx.subjects = append(fx.subjects, s)
			if i%10 != 0 {
				continue // no events: the default entry
			}
			var ops []op
			switch i % 40 {
			case 0: // a deny in internet
				ops = []op{file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1))}
			case 10: // limits in internet
				ops = []op{consent("civic", day(2026, 1, 1), true),
					file("JUDGMENT_DEFAULT", day(2026, 2, 1), day(2026, 2, 1)),
					file("PYRAMID_SELLING", day(2026, 3, 1), day(2026, 3, 1))}
			case 20: // a reward elsewhere
				ops = []op{consent("civic", day(2026, 1, 1), true),
					file("CIVIC_HONOUR", day(2026, 3, 1), day(2026, 3, 1))}
			default: // points only
				ops = []op{file("SPEEDING", day(2026, 4, 1), day(2026, 4, 1))}
			}
			f := subjectFacts(b, s, ops...)
			facts[s] = f
			st := engine.Evaluate(pol, f, fx.now, fx.now)
			fx.tbl.Put(s, engine.EntryOf(st), true)
			for _, l := range st.Listings {
				fx.lists[s] = append(fx.lists[s], l.List)
			}
			fx.withRecs++
		}
		// Shuffle deterministically so that consecutive checks hit
		// different shards and cache lines.
		for i := len(fx.subjects) - 1; i > 0; i-- {
			j := int(uint64(i) * 2654435761 % uint64(i+1))
			fx.subjects[i], fx.subjects[j] = fx.subjects[j], fx.subjects[i]
		}
		fx.ref, _ = fx.tbl.Sector(fx.sector)
		bench = fx
	})
	if bench == nil {
		b.Fatal("bench fixture failed")
	}
	return bench
}

// BenchmarkCheck is the hot path: a map lookup and a mask test.
func BenchmarkCheck(b *testing.B) {
	fx := benchTable(b)
	tbl, ref, now, subjects := fx.tbl, fx.ref, fx.now, fx.subjects
	b.ReportAllocs()
	b.ResetTimer()
	denies := 0
	for i := 0; i < b.N; i++ {
		v, err := tbl.Check(subjects[i%len(subjects)], ref, now)
		if err != nil {
			b.Fatal(err)
		}
		if v.Effect == engine.EffectDeny {
			denies++
		}
	}
	if b.N >= len(subjects) && denies == 0 {
		b.Fatal("no subject denied: the table is empty")
	}
}

func BenchmarkCheckParallel(b *testing.B) {
	fx := benchTable(b)
	tbl, ref, now, subjects := fx.tbl, fx.ref, fx.now, fx.subjects
	b.ReportAllocs()
	b.ResetTimer()
	var start sync.Mutex
	next := 0
	b.RunParallel(func(pb *testing.PB) {
		start.Lock()
		i := next * 7919
		next++
		start.Unlock()
		for pb.Next() {
			if _, err := tbl.Check(subjects[i%len(subjects)], ref, now); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkRecompute is what a subject's change costs: its state and
// its entry, from five records.
func BenchmarkRecompute(b *testing.B) {
	pol := testPolicy(b)
	now := day(2026, 6, 1)
	f := subjectFacts(b, bob, consent("civic", day(2026, 1, 1), true),
		file("JUDGMENT_DEFAULT", day(2026, 2, 1), day(2026, 2, 1)),
		file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1)),
		file("VOLUNTEER_SERVICE", day(2026, 3, 15), day(2026, 3, 15), quantity(12)),
		file("VOLUNTEER_SERVICE", day(2026, 4, 15), day(2026, 4, 15), quantity(8)),
		file("LATE_UTILITY", day(2026, 5, 1), day(2026, 5, 1)),
		dispute(3, day(2026, 5, 10)))
	b.ReportAllocs()
	b.ResetTimer()
	var e engine.Entry
	for i := 0; i < b.N; i++ {
		e = engine.EntryOf(engine.Evaluate(pol, f, now, now))
	}
	if e.InForce.Empty() {
		b.Fatal("no measure in force")
	}
}

// BenchmarkCheckCELBaseline is the naive alternative the table replaces:
// on every check, evaluate the CEL condition of every measure of the
// sector against the subject's lists.
func BenchmarkCheckCELBaseline(b *testing.B) {
	fx := benchTable(b)
	pol, subjects, lists := fx.pol, fx.subjects, fx.lists
	sectorMeasures := pol.SectorMeasures(fx.sector)
	b.ReportAllocs()
	b.ResetTimer()
	denies := 0
	for i := 0; i < b.N; i++ {
		vars := &policy.Vars{Lists: lists[subjects[i%len(subjects)]]}
		effect := engine.EffectAllow
		for _, mi := range sectorMeasures {
			m := pol.Measures[mi]
			if !policy.Eval(m.Program(), vars) {
				continue
			}
			switch m.Effect {
			case engine.Deny:
				effect = engine.EffectDeny
			case engine.Limit:
				effect = max(effect, engine.EffectLimit)
			}
		}
		if effect == engine.EffectDeny {
			denies++
		}
	}
	if b.N >= len(subjects) && denies == 0 {
		b.Fatal("no subject denied")
	}
}
