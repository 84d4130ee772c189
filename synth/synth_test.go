package synth_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"math"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/ident"
	"credo/policy"
	"credo/synth"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

var end = time.Date(2026, 1, 1, 0, 0, 0, 0, shanghai)

func loadPolicy(t testing.TB, file string) *policy.Policy {
	t.Helper()
	p, err := policy.Load(file)
	if err != nil {
		t.Fatalf("loading %s: %v", file, err)
	}
	return p
}

// policies returns the test policy and, if it loads, the example policy.
func policies(t testing.TB) map[string]*policy.Policy {
	t.Helper()
	ps := map[string]*policy.Policy{"testdata": loadPolicy(t, "testdata/policy.yaml")}
	if p, err := policy.Load("../policies/beijing.yaml"); err == nil {
		ps["beijing"] = p
	} else {
		t.Logf("example policy not used: %v", err)
	}
	return ps
}

func newCity(t testing.TB, cfg synth.Config) *synth.City {
	t.Helper()
	if cfg.End.IsZero() {
		cfg.End = end
	}
	if cfg.Policy == nil {
		cfg.Policy = loadPolicy(t, "testdata/policy.yaml")
	}
	c, err := synth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPeople(t *testing.T) {
	const n = 60000
	c := newCity(t, synth.Config{People: n, Seed: 7})
	seen := make(map[string]int, n)
	districts := map[string]int{}
	males, minors, old := 0, 0, 0
	for i := range n {
		s := c.Person(i)
		if j, dup := seen[s]; dup {
			t.Fatalf("person %d and %d share RIC %s", j, i, s)
		}
		seen[s] = i
		id, err := ident.Parse(s)
		if err != nil {
			t.Fatalf("person %d: %s: %v", i, s, err)
		}
		if id.Kind != credo.Person || id.Scheme != ident.RIC || id.Canonical != s {
			t.Fatalf("person %d: %s parses as %v %v %s", i, s, id.Kind, id.Scheme, id.Canonical)
		}
		if ident.DistrictName(id.Region) == "" {
			t.Fatalf("person %d: %s: region %s is not a Beijing district", i, s, id.Region)
		}
		chk, err := ident.RICCheck(s[:17])
		if err != nil || chk != s[17] {
			t.Fatalf("person %d: %s: check %c, want %c (%v)", i, s, s[17], chk, err)
		}
		if c.Person(i) != s {
			t.Fatalf("person %d: not deterministic", i)
		}
		districts[id.Region]++
		if id.Sex == credo.Male {
			males++
		}
		switch age := id.AgeAt(end, shanghai); {
		case age < 18:
			minors++
		case age >= 60:
			old++
		}
	}
	share := func(k int) float64 { return float64(k) / n }
	t.Logf("men %.3f, minors %.3f, 60+ %.3f", share(males), share(minors), share(old))
	if s := share(males); s < 0.49 || s > 0.53 {
		t.Errorf("share of men %.3f, want about 0.51", s)
	}
	if s := share(minors); s < 0.15 || s > 0.19 {
		t.Errorf("share of minors %.3f, want about 0.17", s)
	}
	if s := share(old); s < 0.15 || s > 0.27 {
		t.Errorf("share aged 60+ %.3f, want about a fifth", s)
	}
	if len(districts) != 16 {
		t.Errorf("people in %d districts, want 16", len(districts))
	}
	// The largest districts by the 2020 census.
	for _, big := range []string{"110105", "110108"} {
		for _, small := range []string{"110119", "110109", "110101"} {
			if districts[big] <= 3*districts[small] {
				t.Errorf("district %s has %d people, %s %d: want the first far larger", big, districts[big], small, districts[small])
			}
		}
	}
}

func TestPeopleDense(t *testing.T) {
	// Many people in a few cells: uniqueness must not depend on luck.
	c := newCity(t, synth.Config{People: 400000, Seed: 3})
	seen := make(map[string]struct{}, 400000)
	for i := range 400000 {
		s := c.Person(i)
		if _, dup := seen[s]; dup {
			t.Fatalf("duplicate RIC %s", s)
		}
		seen[s] = struct{}{}
	}
}

func TestOrgs(t *testing.T) {
	const n = 30000
	c := newCity(t, synth.Config{People: 1000, Orgs: n, Seed: 11})
	seen := make(map[string]int, n)
	types := map[string]int{}
	for i := range n {
		s := c.Org(i)
		if j, dup := seen[s]; dup {
			t.Fatalf("org %d and %d share USCC %s", j, i, s)
		}
		seen[s] = i
		id, err := ident.Parse(s)
		if err != nil {
			t.Fatalf("org %d: %s: %v", i, s, err)
		}
		if id.Kind != credo.Org || id.Scheme != ident.USCC || id.Canonical != s || id.Legacy {
			t.Fatalf("org %d: %s parses as %v %v", i, s, id.Kind, id.Scheme)
		}
		if ident.DistrictName(id.Region) == "" {
			t.Fatalf("org %d: %s: region %s is not a Beijing district", i, s, id.Region)
		}
		if chk, err := ident.OrgCodeCheck(s[8:16]); err != nil || chk != s[16] {
			t.Fatalf("org %d: %s: organisation code check %c, want %c", i, s, s[16], chk)
		}
		if chk, err := ident.USCCCheck(s[:17]); err != nil || chk != s[17] {
			t.Fatalf("org %d: %s: check %c, want %c", i, s, s[17], chk)
		}
		types[s[:2]]++
	}
	t.Logf("types %v", types)
	if types["91"] < n/2 || types["92"] == 0 {
		t.Errorf("types %v: want mostly companies (91), some individual businesses (92)", types)
	}
}

func TestOrgCodeCheckXAndZero(t *testing.T) {
	// The organisation-code check computes to X or 0 for some codes; both
	// must appear and parse.
	c := newCity(t, synth.Config{Orgs: 5000, Seed: 1})
	var x, zero bool
	for i := range 5000 {
		s := c.Org(i)
		x = x || s[16] == 'X'
		zero = zero || s[16] == '0'
	}
	if !x || !zero {
		t.Errorf("organisation-code checks X seen %v, 0 seen %v", x, zero)
	}
}

// streamHash hashes every field of every record.
func streamHash(t testing.TB, c *synth.City, from, to int, h hash.Hash) int {
	t.Helper()
	n := 0
	err := c.RecordsRange(from, to, func(r *credo.Record) error {
		n++
		fmt.Fprintf(h, "%s|%s|%s|%s|%s|%s|%s|%g|%s|%s\n", r.Subject, r.Rule, r.Authority, r.CaseRef,
			r.DecidedAt.Format(time.RFC3339), r.NotifiedAt.Format(time.RFC3339), r.EvidenceSHA256,
			r.Quantity, r.EvidenceURI, r.SubjectName)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDeterministic(t *testing.T) {
	pol := loadPolicy(t, "testdata/policy.yaml")
	sum := func(seed int64) (recs, links string, n int) {
		c := newCity(t, synth.Config{People: 20000, Orgs: 2000, Seed: seed, Policy: pol})
		h := sha256.New()
		n = streamHash(t, c, 0, c.Subjects(), h)
		recs = hex.EncodeToString(h.Sum(nil))
		h.Reset()
		c.Links(func(l credo.Link) error {
			fmt.Fprintln(h, l)
			return nil
		})
		return recs, hex.EncodeToString(h.Sum(nil)), n
	}
	a, al, n := sum(42)
	b, bl, _ := sum(42)
	d, dl, _ := sum(43)
	if n == 0 {
		t.Fatal("no records")
	}
	if a != b || al != bl {
		t.Errorf("same seed, different streams: %s %s, %s %s", a, al, b, bl)
	}
	if a == d || al == dl {
		t.Errorf("different seeds, same stream %s or links %s", a, al)
	}

	// Ranges concatenate to the whole stream.
	c := newCity(t, synth.Config{People: 20000, Orgs: 2000, Seed: 42, Policy: pol})
	h := sha256.New()
	total := 0
	for from := 0; from < c.Subjects(); from += 777 {
		total += streamHash(t, c, from, from+777, h)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != a || total != n {
		t.Errorf("ranges give %d records hashing %s, the whole stream %d hashing %s", total, got, n, a)
	}
}

func TestRecordsValid(t *testing.T) {
	for name, pol := range policies(t) {
		t.Run(name, func(t *testing.T) {
			const years = 4
			c := newCity(t, synth.Config{People: 30000, Orgs: 3000, Years: years, Seed: 5, Policy: pol})
			start := end.AddDate(-years, 0, 0)
			cases := map[[2]string]bool{}
			rules := map[string]int{}
			kinds := map[credo.SubjectKind]int{}
			err := c.Records(func(r *credo.Record) error {
				fail := func(format string, args ...any) error {
					return fmt.Errorf("%+v: %s", *r, fmt.Sprintf(format, args...))
				}
				id, err := ident.Parse(r.Subject)
				if err != nil {
					return fail("subject: %v", err)
				}
				rule := pol.Rule(r.Rule)
				switch {
				case rule == nil:
					return fail("no such rule")
				case pol.Authority(r.Authority) == nil:
					return fail("no such authority")
				case !rule.FiledBy(r.Authority):
					return fail("authority may not file the rule")
				case !rule.AppliesTo(id.Kind.String()):
					return fail("rule does not apply to a %s", id.Kind)
				}
				perUnit := false
				for _, ps := range rule.Points {
					perUnit = perUnit || ps.PerUnit != 0
				}
				if perUnit != (r.Quantity > 0) || r.Quantity != math.Trunc(r.Quantity) {
					return fail("quantity %g for a rule that is per-unit: %v", r.Quantity, perUnit)
				}
				if r.DecidedAt.Before(start) || !r.DecidedAt.Before(end) {
					return fail("decided outside the window")
				}
				lt := r.DecidedAt.In(shanghai)
				if h, m := lt.Hour(), lt.Minute(); h < 9 || h > 17 || h == 17 && m >= 30 {
					return fail("decided outside business hours")
				}
				if !pol.Calendar.IsWorkingDay(policy.DateOf(lt, shanghai)) {
					return fail("decided on a day off")
				}
				if !r.NotifiedAt.IsZero() && (!r.NotifiedAt.After(r.DecidedAt) || !r.NotifiedAt.Before(end)) {
					return fail("notified outside (decided, end)")
				}
				if id.Kind == credo.Person && id.AgeAt(r.DecidedAt, shanghai) < 18 {
					return fail("a minor")
				}
				if b, err := hex.DecodeString(r.EvidenceSHA256); err != nil || len(b) != 32 || strings.ToLower(r.EvidenceSHA256) != r.EvidenceSHA256 {
					return fail("evidence digest")
				}
				if r.CaseRef == "" || len(r.CaseRef) > 200 || r.SubjectName == "" {
					return fail("case reference or name")
				}
				key := [2]string{r.Authority, r.CaseRef}
				if cases[key] {
					return fail("case reference used twice by the authority")
				}
				cases[key] = true
				rules[r.Rule]++
				kinds[id.Kind]++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d records: %v", len(cases), rules)
			if kinds[credo.Person] == 0 || kinds[credo.Org] == 0 {
				t.Errorf("records by kind %v: want both", kinds)
			}
			for _, r := range pol.Rules {
				if r.AppliesTo("person") && strings.Contains(r.Code, "VOLUNTEER") && rules[r.Code] == 0 {
					t.Errorf("no %s records", r.Code)
				}
			}
		})
	}
}

func TestDistribution(t *testing.T) {
	for name, pol := range policies(t) {
		t.Run(name, func(t *testing.T) {
			const people, orgs = 100000, 10000
			c := newCity(t, synth.Config{People: people, Orgs: orgs, Years: 5, Seed: 9, Policy: pol})
			perSubject := map[string]int{}
			byRule := map[string]int{}
			listing := map[string]bool{}
			personRecs, orgRecs := 0, 0
			err := c.Records(func(r *credo.Record) error {
				perSubject[r.Subject]++
				byRule[r.Rule]++
				if len(pol.Rule(r.Rule).Lists) > 0 {
					listing[r.Subject] = true
				}
				if len(r.Subject) == 18 && r.Subject[0] == '1' {
					personRecs++
				} else {
					orgRecs++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			adults, withRecs, orgsWith, listed, minorsWith := 0, 0, 0, 0, 0
			max := 0
			for i := range people {
				s := c.Person(i)
				id, _ := ident.Parse(s)
				n := perSubject[s]
				max = Max(max, n)
				if id.AgeAt(end, shanghai) < 18 {
					if n > 0 {
						minorsWith++
					}
					continue
				}
				adults++
				if n > 0 {
					withRecs++
					if listing[s] {
						listed++
					}
				}
			}
			for i := range orgs {
				if perSubject[c.Org(i)] > 0 {
					orgsWith++
				}
			}
			share := float64(withRecs) / float64(adults)
			t.Logf("adults with records %.3f; %.1f records each; %.0f records per 1k people; max %d; listed %.3f of adults with records; orgs with records %.3f, %.1f each",
				share, float64(personRecs)/float64(withRecs), 1000*float64(personRecs)/people, max,
				float64(listed)/float64(withRecs), float64(orgsWith)/orgs, float64(orgRecs)/float64(orgsWith))
			if minorsWith > 0 {
				t.Errorf("%d minors have records", minorsWith)
			}
			if share < 0.15 || share > 0.5 {
				t.Errorf("share of adults with records %.3f, want most without and a sizeable minority with", share)
			}
			if l := float64(listed) / float64(withRecs); name == "beijing" && (l < 0.01 || l > 0.08) {
				t.Errorf("share of people with records on a listing rule %.3f, want a few per cent", l)
			}
			if o := float64(orgsWith) / orgs; o < 0.003 || o > 0.1 {
				t.Errorf("share of organisations with records %.3f, want low", o)
			}
			if max < 30 {
				t.Errorf("the most records of one person is %d, want a long tail", max)
			}
			// Common minor things are far more frequent than serious ones.
			minor, serious := 0, 0
			for code, k := range byRule {
				switch pol.Rule(code).Severity {
				case "minor":
					minor += k
				case "serious":
					serious += k
				}
			}
			if minor < 20*serious {
				t.Errorf("%d minor and %d serious records: want minor far more common", minor, serious)
			}
		})
	}
}

func Max(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func TestLinks(t *testing.T) {
	c := newCity(t, synth.Config{People: 20000, Orgs: 2000, Seed: 2})
	people := map[string]bool{}
	for i := range 20000 {
		people[c.Person(i)] = true
	}
	orgs := map[string]bool{}
	n := 0
	err := c.Links(func(l credo.Link) error {
		n++
		if !people[l.Person] {
			return fmt.Errorf("link %+v: not a person of the city", l)
		}
		if orgs[l.Org] {
			return fmt.Errorf("link %+v: organisation linked twice", l)
		}
		orgs[l.Org] = true
		if l.Role != credo.RoleLegalRepresentative || l.From.IsZero() || !l.From.Before(end) {
			return fmt.Errorf("link %+v", l)
		}
		id, _ := ident.Parse(l.Person)
		if a := id.AgeAt(l.From, shanghai); a < 18 || a > 75 {
			return fmt.Errorf("link %+v: legal representative aged %d", l, a)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2000 {
		t.Errorf("%d links for 2000 organisations", n)
	}
	for i := range 2000 {
		if !orgs[c.Org(i)] {
			t.Fatalf("organisation %d has no link", i)
		}
	}
}

func TestNewErrors(t *testing.T) {
	pol := loadPolicy(t, "testdata/policy.yaml")
	for name, cfg := range map[string]synth.Config{
		"no policy":  {People: 1, End: end},
		"no end":     {People: 1, Policy: pol},
		"negative":   {People: -1, End: end, Policy: pol},
		"too many":   {People: 1_000_000_000, End: end, Policy: pol},
		"bad years":  {People: 1, Years: -1, End: end, Policy: pol},
		"many orgs":  {Orgs: 60_000_000, End: end, Policy: pol},
		"negative 2": {Orgs: 1, Activity: -1, End: end, Policy: pol},
	} {
		if _, err := synth.New(cfg); credo.ErrorCode(err) != credo.EINVALID {
			t.Errorf("%s: error %v, want invalid", name, err)
		}
	}
}

func TestStopsOnError(t *testing.T) {
	c := newCity(t, synth.Config{People: 10000, Seed: 1})
	stop := fmt.Errorf("stop")
	n := 0
	err := c.Records(func(*credo.Record) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if err != stop || n != 10 {
		t.Errorf("got %v after %d records", err, n)
	}
}

func TestRates(t *testing.T) {
	pol := loadPolicy(t, "testdata/policy.yaml")
	count := func(cfg synth.Config) map[string]int {
		cfg.People, cfg.Seed, cfg.Policy = 20000, 4, pol
		c := newCity(t, cfg)
		m := map[string]int{}
		c.Records(func(r *credo.Record) error { m[r.Rule]++; return nil })
		return m
	}
	base := count(synth.Config{})
	off := count(synth.Config{Rates: map[string]synth.Rate{"VOLUNTEER_SERVICE": {}}})
	if base["VOLUNTEER_SERVICE"] == 0 || off["VOLUNTEER_SERVICE"] != 0 {
		t.Errorf("volunteer records %d, with a zero rate %d", base["VOLUNTEER_SERVICE"], off["VOLUNTEER_SERVICE"])
	}
	half := count(synth.Config{Activity: 0.5})
	sum := func(m map[string]int) (n int) {
		for _, k := range m {
			n += k
		}
		return n
	}
	if r := float64(sum(half)) / float64(sum(base)); r < 0.35 || r > 0.65 {
		t.Errorf("activity 0.5 gives %.2f of the records", r)
	}
}

func TestConcurrent(t *testing.T) {
	// Ranges generated at the same time, concatenated, are the stream.
	c := newCity(t, synth.Config{People: 20000, Orgs: 2000, Seed: 8})
	want := sha256.New()
	streamHash(t, c, 0, c.Subjects(), want)
	var parts [4]strings.Builder
	done := make(chan error)
	step := (c.Subjects() + len(parts) - 1) / len(parts)
	for i := range parts {
		go func() {
			done <- c.RecordsRange(i*step, (i+1)*step, func(r *credo.Record) error {
				fmt.Fprintf(&parts[i], "%s|%s|%s|%s|%s|%s|%s|%g|%s|%s\n", r.Subject, r.Rule, r.Authority, r.CaseRef,
					r.DecidedAt.Format(time.RFC3339), r.NotifiedAt.Format(time.RFC3339), r.EvidenceSHA256,
					r.Quantity, r.EvidenceURI, r.SubjectName)
				return nil
			})
		}()
	}
	for range parts {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	got := sha256.New()
	for i := range parts {
		got.Write([]byte(parts[i].String()))
	}
	if hex.EncodeToString(got.Sum(nil)) != hex.EncodeToString(want.Sum(nil)) {
		t.Error("concurrent ranges differ from the stream")
	}
}

func TestNoPeople(t *testing.T) {
	// A city of organisations only: records for them, and no links.
	pol := loadPolicy(t, "testdata/policy.yaml")
	c := newCity(t, synth.Config{Orgs: 500, Seed: 1, Policy: pol})
	var subjects []string
	c.Records(func(r *credo.Record) error {
		subjects = append(subjects, r.Subject)
		return nil
	})
	for _, s := range subjects {
		if id, _ := ident.Parse(s); id.Kind != credo.Org {
			t.Fatalf("record for %s in a city without people", s)
		}
	}
	if len(subjects) == 0 {
		t.Error("no records")
	}
	c.Links(func(l credo.Link) error {
		t.Fatalf("link %+v in a city without people", l)
		return nil
	})
}

func BenchmarkRecords(b *testing.B) {
	pol := loadPolicy(b, "testdata/policy.yaml")
	if p, err := policy.Load("../policies/beijing.yaml"); err == nil {
		pol = p
	}
	c := newCity(b, synth.Config{People: 1_000_000, Orgs: 100_000, Seed: 1, Policy: pol})
	n, from := 0, 0
	b.ResetTimer()
	for b.Loop() {
		// Generate subjects in chunks until b.N records or so.
		if from >= c.Subjects() {
			from = 0
		}
		c.RecordsRange(from, from+1000, func(*credo.Record) error { n++; return nil })
		from += 1000
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(n)/float64(b.N), "records/op")
}

// TestG04GeneratedIdentifiersUnambiguous holds issue 14 item 4 for the
// generated city: every identifier has a GB/T 2260 division code in force,
// and reads as its own kind only (no person is also a plausible credit
// code, no organisation a plausible ID card number).
func TestG04GeneratedIdentifiersUnambiguous(t *testing.T) {
	c := newCity(t, synth.Config{People: 20000, Orgs: 4000, Seed: 11})
	check := func(s string, kind, other credo.SubjectKind) {
		t.Helper()
		id, err := ident.Parse(s)
		if err != nil || id.Kind != kind || id.Canonical != s {
			t.Fatalf("%s: %+v, %v", s, id, err)
		}
		if _, last, ok := ident.RegionYears(id.Region); !ok || last != 0 {
			t.Fatalf("%s: region %s is not a division code in force (known %v, last year %d)", s, id.Region, ok, last)
		}
		if _, err := ident.ParseAs(s, other); err == nil {
			t.Fatalf("%s reads as a %v too", s, other)
		}
	}
	for i := range 20000 {
		check(c.Person(i), credo.Person, credo.Org)
	}
	for i := range 4000 {
		check(c.Org(i), credo.Org, credo.Person)
	}
}
