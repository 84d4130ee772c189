package synth_test

import (
	"testing"
	"time"

	"credo"
	"credo/ident"
	"credo/synth"
)

// TestF06Consents: a share of the adults consent to the example policy's
// consent-based personal score, deterministically, never a minor, within
// the window and after their 18th birthday.
func TestF06Consents(t *testing.T) {
	pol := loadPolicy(t, "../policies/beijing.yaml")
	collect := func() map[string]credo.Consent {
		c := newCity(t, synth.Config{People: 5000, Seed: 3, Policy: pol})
		got := map[string]credo.Consent{}
		if err := c.Consents(0.3, func(s string, cs credo.Consent) error {
			got[s+"/"+cs.Scheme] = cs
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	a, b := collect(), collect()
	if len(a) < 1000 || len(a) > 1600 {
		t.Errorf("%d consents among 5000 people at a share of 0.3 (most are adults)", len(a))
	}
	var p ident.Parser
	for k, cs := range a {
		if b[k] != cs {
			t.Fatalf("consents differ between two runs: %s", k)
		}
		if cs.Scheme != "civic" || !cs.Given {
			t.Errorf("%s: %+v, want a given consent to the civic score", k, cs)
		}
		id, err := p.Parse(k[:18])
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if cs.At.After(end) || cs.At.Before(end.AddDate(-5, 0, -2)) {
			t.Errorf("%s: consent at %s, outside the window", k, cs.At)
		}
		if id.Birth.AddDate(18, 0, 0).After(cs.At.Add(24 * time.Hour)) {
			t.Errorf("%s: consent at %s before the 18th birthday (born %s)", k, cs.At, id.Birth)
		}
	}
}
