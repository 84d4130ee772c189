package engine_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/engine"
)

// reasonWant is what a case expects of one reason.
type reasonWant struct {
	code    string
	effect  string
	lists   []string
	records []int64
	until   time.Time
	via     string
	contest string // exact, or "~word": must contain word
}

const (
	debtorBasis   = "SPC Provisions on Restricting High Consumption (2015) art 3(1)"
	debtorContest = "Apply to the enforcing court for correction (SPC Provisions 2017 art 11)."
	// fake-goods names no contest route: the reason points to the
	// authority that filed the record and the default review period.
	samrContest = "Object in the Credo citizen portal or at Beijing Administration for Market Regulation; the objection is reviewed within 15d."
)

// TestDecide covers the decision for a sector: deny beats limit beats
// allow, limits merge to the strictest parameters, grants come alongside,
// and every sanction carries its reason.
func TestDecide(t *testing.T) {
	pol := testPolicy(t)
	at := day(2026, 4, 1)
	// carol: -30 -320 = 650 (D, so low-credit) and on dishonest-debtors
	// from 2026-03-11 (notice) until fulfilled, at most 2028-03-01.
	carolFacts := subjectFacts(t, carol, consent("civic", day(2026, 1, 1), true),
		file("JUDGMENT_DEFAULT", day(2026, 3, 1), day(2026, 3, 1)),
		file("PYRAMID_SELLING", day(2026, 3, 1), day(2026, 3, 1)))
	// alice: +150 -30 = 1120 (AAA) and on dishonest-debtors.
	aliceFacts := subjectFacts(t, alice, consent("civic", day(2026, 1, 1), true),
		file("CIVIC_HONOUR", day(2026, 3, 1), day(2026, 3, 1)),
		file("JUDGMENT_DEFAULT", day(2026, 3, 1), day(2026, 3, 1)))
	// nobody: +150 = 1150 (AAA), on no list.
	honourFacts := subjectFacts(t, nobody, consent("civic", day(2026, 1, 1), true),
		file("CIVIC_HONOUR", day(2026, 3, 1), day(2026, 3, 1)))
	// bob: on dishonest-debtors (limits in internet) and fake-goods (a
	// deny in internet).
	bobFacts := subjectFacts(t, bob,
		file("JUDGMENT_DEFAULT", day(2026, 3, 1), day(2026, 3, 1)),
		file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1)))
	// bob again, as the legal representative of a company on fake-goods.
	repFacts := subjectFacts(t, bob, link(org, credo.RoleLegalRepresentative, day(2026, 1, 1), time.Time{}),
		withOrg(subjectFacts(t, org, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1)))))

	tests := []struct {
		name     string
		facts    *engine.Facts
		sector   string
		decision string
		params   map[string]float64
		grants   []string
		reasons  []reasonWant
	}{
		{
			name: "deny", facts: carolFacts, sector: "aviation", decision: engine.Deny,
			reasons: []reasonWant{{code: "flight-ban", effect: "deny", lists: []string{"dishonest-debtors"}, records: []int64{2},
				until: day(2028, 3, 1), contest: debtorContest}},
		},
		{
			// internet-debt-cap {max_mbps: 10, max_devices: 3} and
			// internet-low-cap {max_mbps: 2}: the smaller of each.
			name: "limit with the strictest params", facts: carolFacts, sector: "internet", decision: engine.Limit,
			params: map[string]float64{"max_mbps": 2, "max_devices": 3},
			reasons: []reasonWant{
				{code: "internet-debt-cap", effect: "limit", lists: []string{"dishonest-debtors"}, records: []int64{2}, until: day(2028, 3, 1), contest: debtorContest},
				{code: "internet-low-cap", effect: "limit", lists: []string{"low-credit"}, contest: "~score"},
			},
		},
		{
			name: "limit", facts: carolFacts, sector: "rail", decision: engine.Limit,
			params: map[string]float64{"max_class": 2},
			reasons: []reasonWant{{code: "rail-class-limit", effect: "limit", lists: []string{"dishonest-debtors"}, records: []int64{2},
				until: day(2028, 3, 1), contest: debtorContest}},
		},
		{
			name: "allow", facts: carolFacts, sector: "procurement", decision: engine.Allow,
		},
		{
			// Only the deny's reason is given; the limits' params go.
			name: "deny beats limit", facts: bobFacts, sector: "internet", decision: engine.Deny,
			reasons: []reasonWant{{code: "internet-ban", effect: "deny", lists: []string{"fake-goods"}, records: []int64{2},
				until: day(2028, 3, 1), contest: samrContest}},
		},
		{
			name: "deny with grants alongside", facts: aliceFacts, sector: "bike-share", decision: engine.Deny,
			grants: []string{"deposit-free-bikes"},
			reasons: []reasonWant{{code: "bike-ban", effect: "deny", lists: []string{"dishonest-debtors"}, records: []int64{3},
				until: day(2028, 3, 1), contest: debtorContest}},
		},
		{
			name: "allow with grants alongside", facts: honourFacts, sector: "bike-share", decision: engine.Allow,
			grants: []string{"deposit-free-bikes"},
		},
		{
			// The company's record ids are not the person's to see.
			name: "deny via an organisation", facts: repFacts, sector: "procurement", decision: engine.Deny,
			reasons: []reasonWant{{code: "procurement-ban", effect: "deny", lists: []string{"fake-goods"},
				until: day(2028, 3, 1), via: org, contest: "~portal"}},
		},
		{
			name: "no measure reaches the representative in subsidies", facts: repFacts, sector: "subsidies", decision: engine.Allow,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := engine.Evaluate(pol, tc.facts, at, at).Decide(tc.sector)
			if got, want := d.Subject, tc.facts.ID.Canonical; got != want {
				t.Errorf("subject = %s, want %s", got, want)
			}
			if got, want := d.Sector, tc.sector; got != want {
				t.Errorf("sector = %s, want %s", got, want)
			}
			if got, want := d.Decision, tc.decision; got != want {
				t.Errorf("decision = %s, want %s", got, want)
			}
			if got, want := fmt.Sprint(d.Params), fmt.Sprint(tc.params); got != want {
				t.Errorf("params = %s, want %s", got, want)
			}
			if got, want := strings.Join(d.Grants, ","), strings.Join(tc.grants, ","); got != want {
				t.Errorf("grants = [%s], want [%s]", got, want)
			}
			if got, want := len(d.Reasons), len(tc.reasons); got != want {
				t.Fatalf("%d reasons %+v, want %d", got, d.Reasons, want)
			}
			for i, w := range tc.reasons {
				r := d.Reasons[i]
				if got, want := r.Code, w.code; got != want {
					t.Errorf("reason %d: code = %s, want %s", i, got, want)
				}
				if got, want := r.Effect, w.effect; got != want {
					t.Errorf("reason %s: effect = %s, want %s", w.code, got, want)
				}
				if got, want := strings.Join(r.Lists, ","), strings.Join(w.lists, ","); got != want {
					t.Errorf("reason %s: lists = [%s], want [%s]", w.code, got, want)
				}
				if got, want := fmt.Sprint(r.Records), fmt.Sprint(w.records); got != want {
					t.Errorf("reason %s: records = %s, want %s", w.code, got, want)
				}
				if got, want := r.LegalBasis, pol.Measure(w.code).LegalBasis.String(); got != want || got == "" {
					t.Errorf("reason %s: legal basis = %q, want %q", w.code, got, want)
				}
				if w.code == "flight-ban" && r.LegalBasis != debtorBasis {
					t.Errorf("reason flight-ban: legal basis = %q, want %q", r.LegalBasis, debtorBasis)
				}
				if got, want := r.Until, w.until; !got.Equal(want) {
					t.Errorf("reason %s: until = %v, want %v", w.code, got, want)
				}
				if got, want := r.Via, w.via; got != want {
					t.Errorf("reason %s: via = %q, want %q", w.code, got, want)
				}
				if word, ok := strings.CutPrefix(w.contest, "~"); ok {
					if !strings.Contains(r.Contest, word) {
						t.Errorf("reason %s: contest = %q, want it to mention %q", w.code, r.Contest, word)
					}
				} else if got, want := r.Contest, w.contest; got != want {
					t.Errorf("reason %s: contest = %q, want %q", w.code, got, want)
				}
			}
		})
	}
}
