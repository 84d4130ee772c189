package simulate_test

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"credo/simulate"
)

// Expected by hand (the draft: late fees 20 points a month, was 5; cap 200
// a year, was 60; the low-credit list also bars rail):
//
//	p1  3 months: 1000-15=985 A  → 1000-60=940 B             tier down
//	p2  8 months: 1000-40=960 A  → 1000-160=840 D            tier down, low-credit, internet limited, rail denied
//	p3  debtor:   970 A, debtors → same                       no change (aviation, rail denied both)
//	p4  expired:  1000 A         → same
//	p5  3 months: 985 A          → 940 B                     tier down
//	p6  expired:  1000 A; O1's legal representative: aviation denied both
//	o1  debtor: debtors, aviation and rail denied both; no scheme for organisations
func TestRunConstructedCity(t *testing.T) {
	reg, st, _ := city(t)
	cur, draft := versions(t, reg)
	r, err := simulate.Run(context.Background(), st, cur, draft, T, simulate.Options{MinGroup: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Population.Subjects, 7; got != want {
		t.Errorf("subjects = %d, want %d", got, want)
	}
	if r.Population.Persons != 6 || r.Population.Orgs != 1 || r.Population.WithEvents != 7 || r.Population.Census {
		t.Errorf("population = %+v", r.Population)
	}
	if got, want := r.Changed, 3; got != want {
		t.Errorf("changed = %d, want %d", got, want)
	}

	civic := scheme(t, r, "civic")
	if civic.Stayed != 3 || civic.Down != 3 || civic.Up != 0 {
		t.Errorf("civic stayed/down/up = %d/%d/%d, want 3/3/0", civic.Stayed, civic.Down, civic.Up)
	}
	wantTrans := []simulate.Transition{{From: "A", To: "B", Count: 2}, {From: "A", To: "D", Count: 1}}
	if !slices.Equal(civic.Transitions, wantTrans) {
		t.Errorf("civic transitions = %+v, want %+v", civic.Transitions, wantTrans)
	}
	if civic.Before["A"] != 6 || civic.After["A"] != 3 || civic.After["B"] != 2 || civic.After["D"] != 1 {
		t.Errorf("civic before %v after %v", civic.Before, civic.After)
	}

	for _, tc := range []struct {
		list                          string
		before, after, entries, exits int
	}{{"debtors", 2, 2, 0, 0}, {"low-credit", 0, 1, 1, 0}} {
		l := list(t, r, tc.list)
		if l.Before != tc.before || l.After != tc.after || l.Entries != tc.entries || l.Exits != tc.exits {
			t.Errorf("list %s = %+v, want before %d after %d entries %d exits %d", tc.list, l, tc.before, tc.after, tc.entries, tc.exits)
		}
	}
	for _, tc := range []struct {
		sector                                  string
		deniedBefore, deniedAfter, newlyDenied  int
		limitedBefore, limitedAfter, newlyLimit int
	}{
		{"aviation", 3, 3, 0, 0, 0, 0}, // p3, o1, and p6 through o1
		{"rail", 2, 3, 1, 0, 0, 0},     // p3, o1; p2 newly
		{"internet", 0, 0, 0, 0, 1, 1}, // p2 newly limited
	} {
		s := sector(t, r, tc.sector)
		if s.DeniedBefore != tc.deniedBefore || s.DeniedAfter != tc.deniedAfter || s.NewlyDenied != tc.newlyDenied ||
			s.LimitedBefore != tc.limitedBefore || s.LimitedAfter != tc.limitedAfter || s.NewlyLimited != tc.newlyLimit ||
			s.DenialsLifted != 0 || s.LimitsLifted != 0 {
			t.Errorf("sector %s = %+v", tc.sector, s)
		}
	}
	for _, tc := range []struct {
		measure                        string
		before, after, applied, lifted int
	}{{"flight-ban", 3, 3, 0, 0}, {"rail-ban", 2, 3, 1, 0}, {"bandwidth", 0, 1, 1, 0}} {
		var m *simulate.MeasureShift
		for i := range r.Measures {
			if r.Measures[i].Measure == tc.measure {
				m = &r.Measures[i]
			}
		}
		if m == nil || m.Before != tc.before || m.After != tc.after || m.Applied != tc.applied || m.Lifted != tc.lifted {
			t.Errorf("measure %s = %+v", tc.measure, m)
		}
	}
	wantEffects := map[string]int{"any": 3, "tier-down:civic": 3, "deny:rail": 1, "limit:internet": 1, "list:low-credit": 1, "deny:aviation": 0, "list:debtors": 0}
	for id, want := range wantEffects {
		if got := effect(t, r, id).Count; got != want {
			t.Errorf("effect %s = %d, want %d", id, got, want)
		}
	}

	// Districts: Chaoyang p1-p4 (tier down: p1, p2; rail: p2), Haidian
	// p5, p6 (tier down: p5).
	chaoyang := group(t, r, "person.district", "110105")
	haidian := group(t, r, "person.district", "110108")
	if chaoyang.Name != "Chaoyang" || chaoyang.Size != 4 || chaoyang.Affected["tier-down:civic"] != 2 || chaoyang.Affected["deny:rail"] != 1 {
		t.Errorf("Chaoyang = %+v", chaoyang)
	}
	if haidian.Name != "Haidian" || haidian.Size != 2 || haidian.Affected["tier-down:civic"] != 1 || haidian.Affected["deny:rail"] != 0 {
		t.Errorf("Haidian = %+v", haidian)
	}
	if g := group(t, r, "org.district", "44"); g.Name != "Guangdong" || g.Size != 1 {
		t.Errorf("org district = %+v", g)
	}
	if g := group(t, r, "org.type", "91"); g.Size != 1 || !strings.Contains(g.Name, "enterprise") {
		t.Errorf("org type = %+v", g)
	}
	if g := group(t, r, "person.age", "35-44"); g.Size != 2 || g.Affected["tier-down:civic"] != 2 { // p2 36, p5 41
		t.Errorf("age 35-44 = %+v", g)
	}

	// Disparities, groups of at least 2:
	//   district, tier down: Chaoyang 2/4, Haidian 1/2 → 1.0
	//   district, rail:      Chaoyang 1/4, Haidian 0/2 → 0, flagged
	//   sex, tier down:      male p1 of p1,p3,p6 = 1/3; female p2,p5 of p2,p4,p5 = 2/3 → 0.5, flagged
	//   age: only 35-44 has two members → no ratio
	for _, tc := range []struct {
		dim, effect string
		ratio       float64
		flagged     bool
	}{
		{"person.district", "tier-down:civic", 1, false},
		{"person.district", "any", 1, false},
		{"person.district", "deny:rail", 0, true},
		{"person.sex", "tier-down:civic", 0.5, true},
	} {
		d, ok := disparity(r, tc.dim, tc.effect)
		if !ok {
			t.Errorf("no disparity %s %s", tc.dim, tc.effect)
			continue
		}
		// Groups of 2 to 4: nothing is significant (Fisher exact p = 1).
		if math.Abs(d.Ratio-tc.ratio) > 1e-9 || d.Flagged != tc.flagged || d.Groups != 2 || d.Significant || math.Abs(d.PValue-1) > 1e-9 {
			t.Errorf("disparity %s %s = %+v, want ratio %g flagged %v", tc.dim, tc.effect, d, tc.ratio, tc.flagged)
		}
	}
	if d, ok := disparity(r, "person.sex", "tier-down:civic"); ok && (d.MinGroup != "male" || d.MaxGroup != "female") {
		t.Errorf("sex disparity groups = %s/%s", d.MinGroup, d.MaxGroup)
	}
	for _, d := range r.Disparities {
		if d.Dimension == "person.age" {
			t.Errorf("age disparity with groups under the minimum: %+v", d)
		}
	}

	// Most affected: p2 (4 adverse effects) first, then p1 and p5 by identifier.
	var ids []string
	for _, a := range r.MostAffected {
		ids = append(ids, a.Subject)
	}
	if want := []string{p2, p1, p5}; !slices.Equal(ids, want) {
		t.Errorf("most affected = %v, want %v", ids, want)
	} else if a := r.MostAffected[0]; a.Adverse != 4 || !slices.Equal(a.NewlyDenied, []string{"rail"}) || !slices.Equal(a.Entered, []string{"low-credit"}) ||
		len(a.Tiers) != 1 || a.Tiers[0].ScoreBefore != 960 || a.Tiers[0].ScoreAfter != 840 {
		t.Errorf("p2 = %+v", a)
	}
	if r.Redact().MostAffected != nil || r.MostAffected == nil {
		t.Error("Redact must drop the most affected subjects, and only from the copy")
	}

	var buf bytes.Buffer
	if err := simulate.WriteText(&buf, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"3 stayed, 3 down", "low-credit", "FLAGGED", p2} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
}

// TestRunCensus adds two subjects without events (a girl of 10 in
// Chaoyang, a man of 36 in Haidian): the girl is not scored (under the
// scheme's minimum age), the man stays in A. District tier-down rates
// become Chaoyang 2/5 = 0.4 and Haidian 1/3: ratio (1/3)/0.4 = 0.833,
// above the four-fifths threshold, below 0.9.
func TestRunCensus(t *testing.T) {
	reg, st, _ := city(t)
	cur, draft := versions(t, reg)
	census := func(fn func(string) error) error {
		for _, s := range []string{p1, p2, p3, p4, p5, p6, o1, p7, p8} {
			if err := fn(s); err != nil {
				return err
			}
		}
		return nil
	}
	for _, tc := range []struct {
		threshold float64
		flagged   bool
	}{{0, false}, {0.9, true}} {
		r, err := simulate.Run(context.Background(), st, cur, draft, T, simulate.Options{MinGroup: 2, Census: census, Threshold: tc.threshold})
		if err != nil {
			t.Fatal(err)
		}
		if r.Population.Subjects != 9 || r.Population.WithEvents != 7 || !r.Population.Census {
			t.Errorf("population = %+v", r.Population)
		}
		civic := scheme(t, r, "civic")
		if civic.Before[simulate.Unscored] != 1 || civic.Before["A"] != 7 || civic.Stayed != 5 {
			t.Errorf("civic = %+v", civic)
		}
		d, ok := disparity(r, "person.district", "tier-down:civic")
		if !ok || math.Abs(d.Ratio-(1.0/3)/0.4) > 1e-9 || d.Flagged != tc.flagged || d.MinGroup != "Haidian" || d.MaxGroup != "Chaoyang" {
			t.Errorf("threshold %g: district disparity = %+v (ok %v)", tc.threshold, d, ok)
		}
		if g := group(t, r, "person.age", "0-17"); g.Size != 1 || g.Excluded == "" {
			t.Errorf("minors group = %+v", g)
		}
	}
}

func TestRunRefusesBadOptions(t *testing.T) {
	reg, st, _ := city(t)
	cur, draft := versions(t, reg)
	if _, err := simulate.Run(context.Background(), st, cur, draft, T, simulate.Options{Threshold: 1.5}); err == nil || !strings.Contains(err.Error(), "threshold") {
		t.Errorf("threshold 1.5: %v", err)
	}
	draft.Policy = nil
	if _, err := simulate.Run(context.Background(), st, cur, draft, T, simulate.Options{}); err == nil {
		t.Error("no draft: no error")
	}
}

func scheme(t *testing.T, r *simulate.Report, id string) simulate.SchemeShift {
	t.Helper()
	for _, s := range r.Schemes {
		if s.Scheme == id {
			return s
		}
	}
	t.Fatalf("no scheme %s", id)
	return simulate.SchemeShift{}
}

func list(t *testing.T, r *simulate.Report, id string) simulate.ListShift {
	t.Helper()
	for _, l := range r.Lists {
		if l.List == id {
			return l
		}
	}
	t.Fatalf("no list %s", id)
	return simulate.ListShift{}
}

func sector(t *testing.T, r *simulate.Report, id string) simulate.SectorShift {
	t.Helper()
	for _, s := range r.Sectors {
		if s.Sector == id {
			return s
		}
	}
	t.Fatalf("no sector %s", id)
	return simulate.SectorShift{}
}

func effect(t *testing.T, r *simulate.Report, id string) simulate.Effect {
	t.Helper()
	for _, e := range r.Effects {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("no effect %s", id)
	return simulate.Effect{}
}

func group(t *testing.T, r *simulate.Report, dim, key string) simulate.Group {
	t.Helper()
	for _, b := range r.Breakdowns {
		if b.Dimension != dim {
			continue
		}
		for _, g := range b.Groups {
			if g.Key == key {
				return g
			}
		}
	}
	t.Fatalf("no group %s in %s", key, dim)
	return simulate.Group{}
}

func disparity(r *simulate.Report, dim, effect string) (simulate.Disparity, bool) {
	for _, d := range r.Disparities {
		if d.Dimension == dim && d.Effect == effect {
			return d, true
		}
	}
	return simulate.Disparity{}, false
}
