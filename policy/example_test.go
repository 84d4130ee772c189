package policy_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"credo/policy"
)

const examplePath = "../policies/beijing.yaml"

func loadExample(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := policy.Load(examplePath)
	if err != nil {
		t.Fatalf("the example policy does not load:\n%v", err)
	}
	return p
}

func TestExampleLoads(t *testing.T) {
	p := loadExample(t)
	if got, want := p.Effective, time.Date(2026, 4, 1, 0, 0, 0, 0, p.Location()); !got.Equal(want) {
		t.Errorf("effective: got %v, want %v", got, want)
	}
	if got, want := p.Location().String(), "Asia/Shanghai"; got != want {
		t.Errorf("location: got %s, want %s", got, want)
	}
	if got, want := p.File, examplePath; got != want {
		t.Errorf("file: got %s, want %s", got, want)
	}
}

// TestExampleWarnings pins the lint warnings of the example: the four
// sanctions on the score-derived low-credit list, each in a context its
// legal basis does not cover (EU AI Act Art. 5(1)(c)); the six rewards
// whose grant is a function of a tier, which the provider thereby learns
// something of (principle 7); and nothing else.
func TestExampleWarnings(t *testing.T) {
	p := loadExample(t)
	want := []string{"bandwidth-cap", "pet-licence-low-credit", "civil-service-low-credit", "hotel-booking-low-credit",
		"deposit-free-bikes", "service-hall-priority", "transit-discount", "library-deposit-waiver", "heating-rebate", "service-hall-fast-track-firms"}
	var got []string
	for _, w := range p.Warnings {
		if !w.Warning {
			t.Errorf("%v: not marked as a warning", w)
		}
		euAct := strings.Contains(w.Message, "EU AI Act Art. 5(1)(c)") && strings.Contains(w.Message, "uses list low-credit")
		if !euAct && !strings.Contains(w.Message, "reveals a tier") {
			t.Errorf("unexpected warning: %v", w)
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(w.Message, "measure "), ":")
		got = append(got, id)
		if m := p.Measure(id); m == nil {
			t.Errorf("%v: no measure %q", w, id)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("warnings for measures %v, want %v:\n%v", got, want, p.Warnings)
	}
	t.Run("PetLicence", func(t *testing.T) {
		for _, w := range p.Warnings {
			if strings.HasPrefix(w.Message, "measure pet-licence-low-credit: sanction in sector pet-licence (domain pet-licence) uses list low-credit (domain general-credit): an unrelated context (EU AI Act Art. 5(1)(c))") {
				if !strings.HasPrefix(w.String(), examplePath+":") {
					t.Errorf("%v: not located in the example file", w)
				}
				return
			}
		}
		t.Errorf("no EU AI Act warning for the pet-licence measure: %v", p.Warnings)
	})
}

func TestExampleDishonestDebtors(t *testing.T) {
	p := loadExample(t)
	l := p.List("dishonest-debtors")
	if l == nil {
		t.Fatal("no dishonest-debtors list")
	}
	if got, want := l.Kind, "black"; got != want {
		t.Errorf("kind: got %s, want %s", got, want)
	}
	if !l.Public {
		t.Errorf("not public")
	}
	if got, want := fmt.Sprint(l.Publish), "[name identifier sex age obligation conduct case_ref authority]"; got != want {
		t.Errorf("publish: got %s, want %s", got, want)
	}
	if got, want := l.Notice.String(), "10d"; got != want {
		t.Errorf("notice: got %s, want %s", got, want)
	}
	if l.SuspendedDuringDispute() {
		t.Errorf("suspended during a dispute; the SPC keeps it in force")
	}
	if got, want := l.Domain, "judicial-enforcement"; got != want {
		t.Errorf("domain: got %s, want %s", got, want)
	}
	if l.Derived() {
		t.Errorf("derived; it is entered by court decisions")
	}

	t.Run("Procedure", func(t *testing.T) {
		dp := p.DisputeProcedureFor(l)
		got := fmt.Sprintf("%s %s %s %s %s", dp.Review, dp.Correct, dp.AppealFile, dp.AppealDecide, dp.Overdue)
		if want := "15d 3wd 10d 15d in_force"; got != want {
			t.Errorf("spc profile: got %s, want %s", got, want)
		}
		if got, want := p.Procedures.Profiles["fcra"].Review.String()+" "+p.Procedures.Profiles["fcra"].Extension.String()+" "+p.Procedures.Profiles["fcra"].Overdue, "30d 15d suspend"; got != want {
			t.Errorf("fcra profile: got %s, want %s", got, want)
		}
		if got, want := p.Procedures.Profiles["pboc"].Review.String()+" "+p.Procedures.Profiles["pboc"].Overdue, "20d suspend"; got != want {
			t.Errorf("pboc profile: got %s, want %s", got, want)
		}
		if got, want := p.Procedures.Repair.Decide.String(), "10wd"; got != want {
			t.Errorf("repair decide: got %s, want %s", got, want)
		}
	})

	// Ground 1 lasts until the judgment is performed, at most 5 years;
	// grounds 2-6 last 2 years (SPC Provisions 2017 art 2).
	grounds := []struct {
		code, listing string
	}{
		{"JUDGMENT_DEFAULT_ABILITY", "until_fulfilled max 5y"},
		{"JUDGMENT_OBSTRUCTION", "2y"},
		{"JUDGMENT_EVASION", "2y"},
		{"JUDGMENT_ASSET_REPORT", "2y"},
		{"JUDGMENT_CONSUMPTION_BREACH", "2y"},
		{"JUDGMENT_SETTLEMENT_REFUSED", "2y"},
	}
	for _, g := range grounds {
		t.Run(g.code, func(t *testing.T) {
			r := p.Rule(g.code)
			if r == nil {
				t.Fatalf("no rule %s", g.code)
			}
			if got, want := fmt.Sprint(r.ListIDs()), "[dishonest-debtors]"; got != want {
				t.Errorf("lists: got %s, want %s", got, want)
			}
			ls := r.Lists["dishonest-debtors"]
			got := ls.Period.String()
			if ls.UntilFulfilled {
				got = "until_fulfilled max " + ls.Max.String()
			}
			if got != g.listing {
				t.Errorf("listing: got %s, want %s", got, g.listing)
			}
			if !r.AppliesTo("person") || !r.AppliesTo("org") {
				t.Errorf("subjects %v, want person and org", r.Subjects)
			}
			if !r.FiledBy("court.beijing.chaoyang") || r.FiledBy("samr.beijing") {
				t.Errorf("authorities %v: want Beijing courts only", r.Authorities)
			}
			if len(r.Points) != 0 {
				t.Errorf("points %v: the listing is the sanction, the debt judgment is scored once", r.Points)
			}
			if got, want := r.Severity, "serious"; got != want {
				t.Errorf("severity: got %s, want %s", got, want)
			}
		})
	}
}

// TestExampleHighConsumption checks the SPC 2015 restriction: a deny on the
// list in each sector it covers, reaching the four responsible persons of
// a listed company.
func TestExampleHighConsumption(t *testing.T) {
	p := loadExample(t)
	roles := fmt.Sprint(policy.LinkRoles())
	for _, sector := range []string{"aviation", "rail-highspeed", "rail-softsleeper", "hotels-star", "private-school", "property", "insurance"} {
		t.Run(sector, func(t *testing.T) {
			var found *policy.Measure
			for _, i := range p.SectorMeasures(sector) {
				if m := p.Measures[i]; m.Effect == "deny" && slices.Contains(m.Lists(), "dishonest-debtors") {
					found = m
				}
			}
			if found == nil {
				t.Fatalf("no deny on dishonest-debtors in sector %s", sector)
			}
			if !strings.Contains(found.LegalBasis.String(), "Restricting High Consumption (2015) art 1 para 2, art 3") {
				t.Errorf("legal basis %q", found.LegalBasis)
			}
			got := slices.Clone(found.ExtendsTo)
			want := policy.LinkRoles()
			slices.Sort(got)
			slices.Sort(want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("extends_to %v, want %s", found.ExtendsTo, roles)
			}
			if !policy.Eval(found.Program(), &policy.Vars{Lists: []string{"dishonest-debtors"}}) {
				t.Errorf("does not apply to a listed debtor")
			}
		})
	}
}

// TestExampleSanctionsFromLists checks principle 2 on the example: every
// deny and limit names lists, applies to a subject on them, and never to a
// subject on none of them whatever their tiers and scores.
func TestExampleSanctionsFromLists(t *testing.T) {
	p := loadExample(t)
	lowest := &policy.Vars{Tiers: map[string]string{}, Scores: map[string]int64{}, Subject: map[string]any{"kind": "person", "age": int64(40)}}
	for _, s := range p.Schemes {
		lowest.Tiers[s.ID] = s.Tiers[len(s.Tiers)-1].Name
		lowest.Scores[s.ID] = int64(s.Bounds[0])
	}
	n := 0
	for _, m := range p.Measures {
		if !m.Sanction() {
			continue
		}
		n++
		t.Run(m.ID, func(t *testing.T) {
			if len(m.Lists()) == 0 {
				t.Fatalf("%s %s names no list", m.Effect, m.ID)
			}
			for _, id := range m.Lists() {
				if p.List(id) == nil {
					t.Errorf("names undeclared list %s", id)
				}
			}
			if !policy.Eval(m.Program(), &policy.Vars{Lists: m.Lists()}) {
				t.Errorf("does not apply to a subject on %v", m.Lists())
			}
			if policy.Eval(m.Program(), lowest) {
				t.Errorf("applies to a subject on no list (lowest tiers and scores)")
			}
			if m.LegalBasis.IsZero() {
				t.Errorf("no legal basis")
			}
			if m.Effect == "limit" && m.Source == "" {
				t.Errorf("limit params %v without a source", m.Params)
			}
		})
	}
	if n < 10 {
		t.Errorf("only %d sanctions", n)
	}
	if got, want := p.Measure("bandwidth-cap").Params["max_mbps"], 2.0; got != want {
		t.Errorf("bandwidth cap: got %v, want %v", got, want)
	}
}

func TestExampleDerivedLists(t *testing.T) {
	p := loadExample(t)
	for _, tc := range []struct {
		list  string
		tiers map[string]string
		want  bool
	}{
		{"low-credit", map[string]string{"civic": "D"}, true},
		{"low-credit", map[string]string{"civic": "C"}, false},
		{"low-credit", map[string]string{}, false}, // unscored (no consent): not on a score-derived list
		{"honour-roll", map[string]string{"civic": "AAA"}, true},
		{"honour-roll", map[string]string{"civic": "AA"}, true},
		{"honour-roll", map[string]string{"civic": "A"}, false},
		{"dog-licence-revoked", map[string]string{"dog_licence": "revoked"}, true},
		{"dog-licence-revoked", map[string]string{"dog_licence": "valid"}, false},
		{"dog-licence-revoked", map[string]string{"civic": "D"}, false},
	} {
		t.Run(fmt.Sprintf("%s/%v", tc.list, tc.tiers), func(t *testing.T) {
			l := p.List(tc.list)
			if l == nil || !l.Derived() {
				t.Fatalf("no derived list %s", tc.list)
			}
			if got := policy.Eval(l.Program(), &policy.Vars{Tiers: tc.tiers}); got != tc.want {
				t.Errorf("Eval = %v, want %v", got, tc.want)
			}
		})
	}
	if got, want := p.List("honour-roll").Kind, "red"; got != want {
		t.Errorf("honour-roll kind: got %s, want %s", got, want)
	}
	if got, want := p.List("low-credit").Domain, "general-credit"; got != want {
		t.Errorf("low-credit domain: got %s, want %s", got, want)
	}
}

func TestExampleSchemes(t *testing.T) {
	p := loadExample(t)
	for _, tc := range []struct {
		scheme string
		score  int
		want   string
	}{
		{"civic", 1000, "A"},
		{"civic", 1050, "AAA"},
		{"civic", 1049, "AA"},
		{"civic", 959, "B"},
		{"civic", 849, "C"},
		{"civic", 599, "D"},
		{"civic", 0, "D"},
		{"dog_licence", 12, "valid"},
		{"dog_licence", 1, "valid"},
		{"dog_licence", 0, "revoked"},
		{"corporate", 1000, "good"},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.scheme, tc.score), func(t *testing.T) {
			if got := p.Scheme(tc.scheme).TierOf(tc.score); got != tc.want {
				t.Errorf("TierOf(%d) = %s, want %s", tc.score, got, tc.want)
			}
		})
	}
	civic := p.Scheme("civic")
	if got, want := fmt.Sprint(civic.Base, civic.Bounds, civic.MinAge, civic.ConsentRequired()), "1000 [0 1200] 18 true"; got != want {
		t.Errorf("civic: got %s, want %s", got, want)
	}
	for _, tier := range civic.Tiers {
		if tier.Meaning.IsZero() {
			t.Errorf("civic tier %s has no meaning", tier.Name)
		}
	}
	if p.Scheme("corporate").ConsentRequired() || p.Scheme("corporate").Applies("person") {
		t.Errorf("corporate: want orgs, no consent")
	}
	dog := p.Scheme("dog_licence")
	if got, want := fmt.Sprint(dog.Base, dog.Bounds), "12 [0 12]"; got != want {
		t.Errorf("dog_licence: got %s, want %s", got, want)
	}
}

// TestExampleRongcheng checks the official Rongcheng deductions.
func TestExampleRongcheng(t *testing.T) {
	p := loadExample(t)
	for code, want := range map[string]int{
		"CONTRACT_DEFAULT":              -20,
		"BREACH_LIABILITY":              -50,
		"PRIVATE_LENDING_BREACH":        -20,
		"ILLEGAL_FUNDRAISING":           -40,
		"DEBT_JUDGMENT":                 -30,
		"PYRAMID_OR_FRAUD":              -30,
		"FAKE_PRODUCTS":                 -30,
		"LATE_UTILITY_FEES":             -20,
		"UTILITY_ARREARS_JUDGMENT":      -50,
		"HEATING_TAMPERING":             -50,
		"UTILITY_THEFT":                 -60,
		"UTILITY_EQUIPMENT_DESTRUCTION": -100,
		"ONLINE_DEFAMATION_ADJUDICATED": -100,
		"BLOOD_DONATION":                10,
	} {
		t.Run(code, func(t *testing.T) {
			r := p.Rule(code)
			if r == nil {
				t.Fatalf("no rule %s", code)
			}
			if got := r.Points["civic"].Each; got != want {
				t.Errorf("civic points: got %d, want %d", got, want)
			}
			if r.Source == "" {
				t.Errorf("no source for %d points", want)
			}
		})
	}
	t.Run("BANK_ARREARS", func(t *testing.T) {
		ps := p.Rule("BANK_ARREARS").Points["civic"]
		if got, want := fmt.Sprintf("%d %s", ps.PerUnit, ps.Unit), "-10 month"; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	t.Run("VOLUNTEER_SERVICE", func(t *testing.T) {
		ps := p.Rule("VOLUNTEER_SERVICE").Points["civic"]
		if got, want := fmt.Sprintf("%d %s %d %s", ps.PerUnit, ps.Unit, ps.Cap, ps.Per), "1 hour 50 1y"; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	t.Run("OnlyCourtsFileDefamation", func(t *testing.T) {
		r := p.Rule("ONLINE_DEFAMATION_ADJUDICATED")
		for _, a := range p.Authorities {
			if got, want := r.FiledBy(a.ID), strings.HasPrefix(a.ID, "court.beijing."); got != want {
				t.Errorf("FiledBy(%s) = %v, want %v", a.ID, got, want)
			}
		}
	})
}

// TestExampleEverythingEnds checks principle 3 and the citations on every
// rule: a lifetime, a legal basis, and a source for its numbers.
func TestExampleEverythingEnds(t *testing.T) {
	p := loadExample(t)
	for _, r := range p.Rules {
		t.Run(r.Code, func(t *testing.T) {
			if r.Lifetime.IsZero() || r.Lifetime.N == 0 {
				t.Errorf("no lifetime")
			}
			if r.LegalBasis.IsZero() || r.Source == "" {
				t.Errorf("legal basis %q, source %q", r.LegalBasis, r.Source)
			}
			for id, ls := range r.Lists {
				if ls.UntilFulfilled && ls.Max.IsZero() || !ls.UntilFulfilled && ls.Period.IsZero() {
					t.Errorf("listing on %s does not end", id)
				}
			}
		})
	}
	for _, l := range p.Lists {
		if l.LegalBasis.IsZero() {
			t.Errorf("list %s: no legal basis", l.ID)
		}
	}
}

func TestExampleAuthorities(t *testing.T) {
	p := loadExample(t)
	for _, a := range p.Authorities {
		if a.Kind != "court" || a.ID == "court.spc" {
			continue
		}
		t.Run(a.ID, func(t *testing.T) {
			up := p.Authority(a.AppealTo)
			if up == nil || up.Kind != "court" {
				t.Fatalf("appeal_to %q: want a court", a.AppealTo)
			}
			// The appeal chain ends at the Supreme People's Court.
			for i := 0; up.AppealTo != ""; i++ {
				if i > 5 {
					t.Fatalf("appeal chain from %s does not end", a.ID)
				}
				up = p.Authority(up.AppealTo)
			}
			if got, want := up.ID, "court.spc"; got != want {
				t.Errorf("chain ends at %s, want %s", got, want)
			}
		})
	}
}

func TestExampleCalendar(t *testing.T) {
	p := loadExample(t)
	cal := p.Calendar
	if got, want := len(cal.Holidays), 33; got != want {
		t.Errorf("holidays: got %d, want %d", got, want)
	}
	if got, want := len(cal.Workdays), 6; got != want {
		t.Errorf("workdays: got %d, want %d", got, want)
	}
	for _, s := range p.Workdays {
		d := mustDate(t, s)
		if wd := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday(); wd != time.Saturday && wd != time.Sunday {
			t.Errorf("make-up working day %s is a %v", s, wd)
		}
	}
	// An objection to a record filed on the eve of National Day: the
	// correction deadline (3wd) runs over the golden week and counts the
	// make-up Saturday.
	filed := time.Date(2026, 9, 30, 10, 0, 0, 0, p.Location())
	dp := p.DisputeProcedureFor(p.List("dishonest-debtors"))
	if got, want := cal.Add(filed, dp.Correct), time.Date(2026, 10, 10, 10, 0, 0, 0, p.Location()); !got.Equal(want) {
		t.Errorf("correct deadline: got %v, want %v", got, want)
	}
	// Mid-Autumn (25 Sep) and National Day together: Sep 28-30, Oct 8-10
	// (10 a make-up Saturday), Oct 12-15.
	if got, want := cal.Add(time.Date(2026, 9, 24, 10, 0, 0, 0, p.Location()), p.Procedures.Repair.Decide), time.Date(2026, 10, 15, 10, 0, 0, 0, p.Location()); !got.Equal(want) {
		t.Errorf("repair deadline: got %v, want %v", got, want)
	}
}

func TestExampleHash(t *testing.T) {
	src, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(policy.Hash(src)), 64; got != want {
		t.Errorf("hash length: got %d, want %d", got, want)
	}
	if policy.Hash(src) == policy.Hash(append(src, '\n')) {
		t.Errorf("hash ignores a change")
	}
}

func BenchmarkParseExample(b *testing.B) {
	src, err := os.ReadFile(examplePath)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := policy.Parse(examplePath, src); err != nil {
			b.Fatal(err)
		}
	}
}
