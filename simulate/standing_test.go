package simulate_test

import (
	"context"
	"os"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/policies"
	"credo/policy"
	"credo/registry"
	"credo/simulate"
)

// TestStandingFillsAsEvaluate: the simulation evaluates every subject on
// the memoised path the decision table uses (engine.Evaluator.Standing)
// and takes decisions from the check's function (SectorRef.Verdict); every
// subject of a synthetic city (links, organisations' measures reaching
// their representatives, minors, consents) gets the same outcome under the
// policy in force and the draft, at several instants, as with
// engine.Evaluate and State.Decide.
func TestStandingFillsAsEvaluate(t *testing.T) {
	ctx := context.Background()
	reg, st, city, _ := synthCity(t, tempDB(t), 8000, 800)
	// Half the residents consent to the personal score: its tiers, the
	// low-credit list's limits and the honour roll's grants then occur.
	var consents []*credo.Event
	if err := city.Consents(0.5, func(subject string, c credo.Consent) error {
		consents = append(consents, &credo.Event{Type: credo.EventConsentGiven, Subject: subject, Actor: credo.RoleSubject, Consent: &c})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Append(ctx, consents...); err != nil {
		t.Fatal(err)
	}
	cur, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	draftSrc, err := os.ReadFile("../policies/beijing-draft.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dr, err := policy.Parse("beijing-draft.yaml", draftSrc)
	if err != nil {
		t.Fatal(err)
	}
	both := simulate.NewBoth(cur, dr)
	var subjects, deny, limit, grant, listed int
	for _, at := range []struct{ at, known string }{{"2026-06-15", "2026-06-15"}, {"2024-03-01", "2024-03-01"}, {"2030-01-01", "2026-06-15"}} {
		at0, known := day(at.at), day(at.known)
		fr, ok := registry.FactsReaderOf(st)
		if !ok {
			t.Fatal("the store has no facts projection")
		}
		if _, err := registry.ScanFacts(ctx, fr, nil, 1, func(_ int, f *engine.Facts) error {
			e, s, d, l, g, li := both.Outcomes(f, at0, known)
			if e != s {
				t.Fatalf("%s at %s: engine.Evaluate gives\n  %s\nthe simulation's path\n  %s", f.ID.Canonical, at.at, e, s)
			}
			subjects++
			deny, limit, grant, listed = deny+b2i(d), limit+b2i(l), grant+b2i(g), listed+b2i(li)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d outcomes compared: %d deny, %d limit, %d grant, %d listed", subjects, deny, limit, grant, listed)
	if subjects < 1000 || deny == 0 || limit == 0 || grant == 0 || listed == 0 {
		t.Fatalf("the city exercises too little: %d subjects, %d deny, %d limit, %d grant, %d listed", subjects, deny, limit, grant, listed)
	}
}

func day(s string) time.Time {
	d, err := time.ParseInLocation("2006-01-02", s, shanghai)
	if err != nil {
		panic(err)
	}
	return d.Add(12 * time.Hour)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
