package engine_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"credo/engine"
	"credo/policies"
	"credo/policy"
)

// TestS04EntryEqualsEvaluate holds the table's evaluation (Evaluator.Entry,
// no explanation) equal to the full one (EntryOf(Evaluate)) for every
// subject of a generated city, under the example policy and the test
// policy, at several instants and with less known than at: the measures in
// force and the next change; and the census's (Evaluator.Standing) equal
// to what the full one says of the lists, the schemes and the next change. The city must exercise what the two paths
// could disagree on: minors' conduct, objections (open, overdue, decided),
// derived lists suspended during a dispute, links, fulfilled, repaired and
// revoked records, tier-derived lists and measures reaching a person
// through an organisation.
func TestS04EntryEqualsEvaluate(t *testing.T) {
	beijing, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	// The example policy with a derived list that reads scores and the
	// subject's attributes, which the table's memory of conditions must key on.
	src := strings.Replace(string(policies.Beijing), `when: tiers.civic == "D"`,
		`when: scores.civic % 7 == 3 || (subject.age % 5 == 2 && tiers.civic == "A")`, 1)
	if src == string(policies.Beijing) {
		t.Fatal("the example policy no longer has the low-credit condition")
	}
	beijingScores, err := policy.Parse("beijing-scores.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	people := 2500
	if testing.Short() {
		people = 1500 // 1,200 and fewer exercise no measure reaching a person through an organisation
	}
	for _, tc := range []struct {
		name string
		pol  *policy.Policy
	}{{"beijing", beijing}, {"beijing-scores", beijingScores}, {"beijing-scores-small-memory", beijingScores}, {"testpolicy", testPolicy(t)}} {
		t.Run(tc.name, func(t *testing.T) {
			pol := tc.pol
			if strings.HasSuffix(tc.name, "-small-memory") {
				defer engine.SetMemoMax(50)() // cleared again and again
			}
			c := cityFacts(t, pol, people, people/10)
			ev := engine.NewEvaluator() // reused across subjects, as the table does
			cover := map[string]int{}
			instants := []struct{ at, known time.Time }{
				{c.end.AddDate(-3, 0, 0), c.end.AddDate(-3, 0, 0)},
				{c.end.AddDate(-1, 0, -17), c.end.AddDate(-1, 0, -17)},
				{c.end.AddDate(0, 0, -10), c.end.AddDate(0, -3, 0)}, // known earlier than at
				{c.end, c.end},
				{c.end.AddDate(1, 1, 0), c.end.AddDate(1, 1, 0)},
			}
			for _, s := range c.subjects {
				f := c.facts[s]
				for _, in := range instants {
					st := engine.Evaluate(pol, f, in.at, in.known)
					want := engine.EntryOf(st)
					got := ev.Entry(pol, f, in.at, in.known)
					if got != want {
						t.Fatalf("%s at %s known %s: entry %+v, Evaluate gives %+v", s, in.at, in.known, got, want)
					}
					if pooled := engine.EntryFor(pol, f, in.at, in.known); pooled != want {
						t.Fatalf("%s at %s: EntryFor %+v, Evaluate gives %+v", s, in.at, pooled, want)
					}
					if got, want := standingKey(ev.Standing(pol, f, in.at, in.known)), standingKey(engine.StandingOf(st)); got != want {
						t.Fatalf("%s at %s known %s: standing\n%s\nEvaluate gives\n%s", s, in.at, in.known, got, want)
					}
					tally(cover, pol, st)
				}
			}
			t.Logf("coverage: %v; %d outcomes of the conditions remembered for %d subjects", cover, engine.MemoLen(ev), len(c.subjects))
			for _, k := range []string{"minor", "disputed", "overdue", "suspended", "revoked", "fulfilled", "repaired",
				"expired", "derived", "derived_during_dispute", "via", "no_consent", "measures", "next"} {
				if tc.name != "testpolicy" && cover[k] == 0 {
					t.Errorf("the generated city exercises no %s", k)
				}
			}
		})
	}
}

// standingKey renders a standing for comparison, its lists sorted.
func standingKey(st *engine.Standing) string {
	lists := slices.Clone(st.Lists)
	slices.Sort(lists)
	return fmt.Sprintf("lists %v schemes %+v in force %v next %s", lists, st.Schemes, st.InForce, st.Next)
}

// tally counts what a state exercises.
func tally(cover map[string]int, pol *policy.Policy, st *engine.State) {
	disputedPoints := false
	for _, r := range st.Records {
		if r.Minor {
			cover["minor"]++
		}
		if r.Disputed {
			cover["disputed"]++
			if r.Status == engine.StatusDisputed {
				disputedPoints = true
			}
		}
		if r.Overdue {
			cover["overdue"]++
		}
		switch r.Status {
		case engine.StatusSuspended, engine.StatusRevoked, engine.StatusFulfilled, engine.StatusRepaired, engine.StatusExpired:
			cover[r.Status]++
		}
	}
	for _, l := range st.Listings {
		if l.Derived {
			cover["derived"]++
		}
	}
	if disputedPoints {
		for _, l := range pol.Lists {
			if l.Derived() && l.SuspendedDuringDispute() {
				cover["derived_during_dispute"]++
				break
			}
		}
	}
	for _, m := range st.Measures {
		cover["measures"]++
		if m.Via != "" {
			cover["via"]++
		}
	}
	for _, ss := range st.Schemes {
		if ss.Why == "no_consent" {
			cover["no_consent"]++
		}
	}
	if !st.Next.IsZero() {
		cover["next"]++
	}
}

// TestS04EntryAllocatesNothingPerRecord: the table's evaluation allocates
// the same for a subject with one record as for one with forty (what it
// allocates is the conditions' evaluation, per subject).
func TestS04EntryAllocatesNothingPerRecord(t *testing.T) {
	pol := testPolicy(t)
	now := day(2026, 6, 1)
	facts := func(n int) *engine.Facts {
		var ops []op
		for i := 0; i < n; i++ {
			ops = append(ops, file("SPEEDING", day(2026, 5, 1).AddDate(0, 0, -i), day(2026, 5, 1)))
		}
		ops = append(ops, dispute(1, day(2026, 5, 10)))
		return subjectFacts(t, bob, ops...)
	}
	one, forty := facts(1), facts(40)
	ev := engine.NewEvaluator()
	ev.Entry(pol, forty, now, now) // grow the working memory once
	a1 := testing.AllocsPerRun(50, func() { ev.Entry(pol, one, now, now) })
	a40 := testing.AllocsPerRun(50, func() { ev.Entry(pol, forty, now, now) })
	if a40 > a1 {
		t.Errorf("Entry allocates %.0f times for 40 records, %.0f for one: it allocates per record", a40, a1)
	}
	full := testing.AllocsPerRun(50, func() { engine.Evaluate(pol, forty, now, now) })
	t.Logf("allocations: entry %.0f (1 record), %.0f (40 records); Evaluate %.0f (40 records)", a1, a40, full)
}
