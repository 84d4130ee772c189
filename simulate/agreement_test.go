package simulate_test

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"credo"

	"credo/policy"
	"credo/registry"
	"credo/simulate"
)

// TestAgreesWithLiveDecisions: the simulated "before" is what the registry
// answers now, and after publishing the draft effective at the simulated
// instant, the registry answers exactly the simulated "after" — tiers,
// listings and the decision in every sector, through the decision table —
// for every subject, in the constructed city and in a synthetic one (with
// its census: the subjects without events too, decided from the table's
// defaults).
func TestAgreesWithLiveDecisions(t *testing.T) {
	t.Run("constructed", func(t *testing.T) {
		reg, st, c := city(t)
		_, draftSrc := loadPolicy(t, "testdata/draft.yaml")
		agreement(t, reg, st, c, T, draftSrc, nil, 7)
	})
	t.Run("synthetic", func(t *testing.T) {
		const people, orgs = 3000, 300
		_, st, city, c := synthCity(t, tempDB(t), people, orgs)
		draftSrc, err := os.ReadFile("../policies/beijing-draft.yaml")
		if err != nil {
			t.Fatal(err)
		}
		c.t = synthT
		reg, err := registry.Open(context.Background(), st, registry.Options{Now: c.now})
		if err != nil {
			t.Fatal(err)
		}
		agreement(t, reg, st, c, synthT, draftSrc, census(city, people, orgs), people+orgs)
	})
}

func agreement(t *testing.T, reg *registry.Registry, st credo.RegistryStore, c *clock, at time.Time, draftSrc []byte, census func(func(string) error) error, subjects int) {
	ctx := context.Background()
	c.t = at
	cur, draft, err := simulate.Versions(reg.Engine(), at, at, "draft.yaml", draftSrc)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	outcomes := map[string]simulate.Outcome{}
	r, err := simulate.Run(ctx, st, cur, draft, at, simulate.Options{Census: census, Visit: func(o simulate.Outcome) {
		mu.Lock()
		outcomes[o.Subject] = o
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != subjects || r.Population.Subjects != subjects {
		t.Fatalf("visited %d subjects, report %d, want %d", len(outcomes), r.Population.Subjects, subjects)
	}
	if r.Changed == 0 {
		t.Fatal("the draft changes nothing: the test would prove nothing")
	}
	ids := make([]string, 0, len(outcomes))
	for id := range outcomes {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	compare := func(side string, pol *policy.Policy, hash string, want func(simulate.Outcome) simulate.Standing) {
		t.Helper()
		if _, h, err := reg.Policy(ctx); err != nil || h != hash {
			t.Fatalf("%s: registry policy %s, want %s (%v)", side, h, hash, err)
		}
		bad := 0
		for _, id := range ids {
			w := want(outcomes[id])
			if msg := differs(ctx, reg, pol, id, at, w); msg != "" {
				bad++
				if bad <= 10 {
					t.Errorf("%s %s: %s", side, id, msg)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d subjects differ", side, bad, len(ids))
		}
	}
	compare("before", cur.Policy, cur.Hash, func(o simulate.Outcome) simulate.Standing { return o.Before })
	if _, _, err := reg.Publish(ctx, "draft.yaml", draftSrc, at); err != nil {
		t.Fatal(err)
	}
	compare("after", draft.Policy, draft.Hash, func(o simulate.Outcome) simulate.Standing { return o.After })
}

// differs compares the registry's answers about a subject with a simulated
// standing ("" when they agree).
func differs(ctx context.Context, reg *registry.Registry, pol *policy.Policy, subject string, at time.Time, want simulate.Standing) string {
	st, err := reg.State(ctx, subject, at, at)
	if err != nil {
		return err.Error()
	}
	tiers := map[string]string{}
	for _, ss := range st.Schemes {
		if ss.Scored {
			tiers[ss.Scheme] = ss.Tier
		} else {
			tiers[ss.Scheme] = simulate.Unscored
		}
	}
	if !mapsEqual(tiers, want.Tiers) {
		return "tiers " + fmtMap(tiers) + ", simulated " + fmtMap(want.Tiers)
	}
	var lists []string
	for _, li := range st.Listings {
		lists = append(lists, li.List)
	}
	wl := slices.Clone(want.Lists)
	slices.Sort(lists)
	slices.Sort(wl)
	if !slices.Equal(lists, wl) {
		return "lists " + fmtSlice(lists) + ", simulated " + fmtSlice(wl)
	}
	sectors := map[string]bool{}
	for _, s := range pol.Sectors {
		sectors[s.ID] = true
	}
	for _, m := range pol.Measures {
		sectors[m.Sector] = true
	}
	for sector := range sectors {
		d, err := reg.Check(ctx, subject, sector)
		if err != nil {
			return sector + ": " + err.Error()
		}
		if d.Decision != want.Decisions[sector] {
			return sector + ": registry " + d.Decision + ", simulated " + want.Decisions[sector]
		}
		if granted := len(d.Grants) > 0; granted != slices.Contains(want.Grants, sector) {
			return sector + ": grants differ"
		}
	}
	return ""
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func fmtMap(m map[string]string) string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return fmtSlice(out)
}

func fmtSlice(s []string) string { return "[" + join(s) + "]" }

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
