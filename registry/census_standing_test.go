package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"credo/engine"
	"credo/engine/enginetest"
	"credo/policies"
	"credo/policy"
)

// TestCensusStandingEqualsExplained holds the census's evaluation of a
// subject (contribution: the engine's standing, without the explanation)
// equal to the one from full states (explainedContribution) for every
// subject of a generated city (minors' conduct, objections open, overdue
// and decided, derived lists, some suspended during a dispute, consents,
// links to organisations, subjects with public entries), at census
// instants under two policy versions, one taking effect inside the
// window: subject by subject, and the census the two give, byte for byte.
func TestCensusStandingEqualsExplained(t *testing.T) {
	ctx := context.Background()
	v1, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	draft, err := os.ReadFile("../policies/beijing-draft.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := policy.Parse("beijing-draft.yaml", draft)
	if err != nil {
		t.Fatal(err)
	}
	people := 2500
	if testing.Short() {
		people = 800
	}
	c := enginetest.CityFacts(t, v1, people, people/10)
	subjects := slices.Clone(c.Subjects)
	slices.Sort(subjects)
	eff2 := c.End.AddDate(0, -4, 0)
	eng := engine.New(
		engine.Version{Hash: "v1", Policy: v1, Effective: c.End.AddDate(-6, 0, 0), Published: c.End.AddDate(-6, 0, 0)},
		engine.Version{Hash: "v2", Policy: v2, Effective: eff2, Published: eff2.AddDate(0, -1, 0)},
	)
	full := func(_ context.Context, subject string) (*engine.Facts, error) { return c.Facts[subject], nil }
	cover := map[string]int{}
	derived := map[int]bool{}
	for _, now := range []time.Time{c.End.AddDate(0, -7, 0), c.End, c.End.AddDate(0, 3, 10)} {
		ver, ok := eng.PolicyAt(now, now)
		if !ok {
			t.Fatal("no policy")
		}
		for i, l := range ver.Policy.Lists {
			derived[i] = l.Derived()
		}
		old := newCensusState(ver.Policy, ver.Hash, 13, now)
		fast := newCensusState(ver.Policy, ver.Hash, 13, now)
		ev := engine.NewEvaluator() // reused across subjects, as a census build does
		for k, s := range subjects {
			f := c.Facts[s]
			var fl func(context.Context, string) (*engine.Facts, error)
			if k%2 == 0 {
				fl = full
			}
			want, err := old.explainedContribution(ctx, eng, f, now, fl)
			if err != nil {
				t.Fatal(err)
			}
			got, err := fast.contribution(ctx, eng, ev, f, now, fl)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s at %s: contribution\n%+v\nfrom full states\n%+v", s, now, got, want)
			}
			old.set(s, want)
			fast.set(s, got)
			tallyContrib(cover, fast, got, derived)
		}
		a, err := json.Marshal(old.snapshot())
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(fast.snapshot())
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) {
			t.Fatalf("at %s: census\n%s\nfrom full states\n%s", now, b, a)
		}
	}
	t.Logf("coverage: %v", cover)
	for _, k := range []string{"public", "derived", "unscored", "scored", "expires"} {
		if cover[k] == 0 {
			t.Errorf("the generated city exercises no %s", k)
		}
	}
}

// tallyContrib counts what a contribution exercises.
func tallyContrib(cover map[string]int, s *censusState, c *contrib, derived map[int]bool) {
	if c.listed != nil {
		cover["public"]++
	}
	if c.until != 1<<63-1 {
		cover["expires"]++
	}
	for i, w := range c.lists {
		for b := range 64 {
			if w&(1<<b) != 0 && derived[(i%s.words)*64+b] {
				cover["derived"]++
			}
		}
	}
	for _, t := range c.tiers {
		switch t.kind {
		case tierScored:
			cover["scored"]++
		case tierWhy:
			cover["unscored"]++
		}
	}
}

// BenchmarkCensusContribution evaluates every subject of a generated city
// (BENCH_PEOPLE people, default 20,000; one organisation in ten more) at
// the portal's six census instants: "standing" as the census does
// (contribution), "explained" from full states (explainedContribution,
// the census's evaluation before it). Reported per subject.
func BenchmarkCensusContribution(b *testing.B) {
	people := 20_000
	if s := os.Getenv("BENCH_PEOPLE"); s != "" {
		if _, err := fmt.Sscan(s, &people); err != nil {
			b.Fatal(err)
		}
	}
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		b.Fatal(err)
	}
	c := enginetest.CityFacts(b, pol, people, people/10)
	eng := engine.New(engine.Version{Hash: "v1", Policy: pol, Effective: c.End.AddDate(-6, 0, 0), Published: c.End.AddDate(-6, 0, 0)})
	now := c.End
	ctx := context.Background()
	for _, mode := range []string{"explained", "standing"} {
		b.Run(mode, func(b *testing.B) {
			s := newCensusState(pol, "v1", 6, now)
			ev := engine.NewEvaluator()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for _, subject := range c.Subjects {
					f := c.Facts[subject]
					var err error
					if mode == "standing" {
						_, err = s.contribution(ctx, eng, ev, f, now, nil)
					} else {
						_, err = s.explainedContribution(ctx, eng, f, now, nil)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(c.Subjects)), "ns/subject")
		})
	}
}
