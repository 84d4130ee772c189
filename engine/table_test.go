package engine_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
	"credo/policy"
)

// memLoader serves subjects' facts from memory and counts its calls.
type memLoader struct {
	mu    sync.Mutex
	facts map[string]*engine.Facts
	calls int
}

func newMemLoader() *memLoader { return &memLoader{facts: map[string]*engine.Facts{}} }

func (l *memLoader) load(subject string) (*engine.Facts, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if f, ok := l.facts[subject]; ok {
		return f, nil
	}
	id, err := ident.Parse(subject)
	if err != nil {
		return nil, err
	}
	return &engine.Facts{ID: id}, nil
}

func (l *memLoader) set(f *engine.Facts) {
	l.mu.Lock()
	l.facts[f.ID.Canonical] = f
	l.mu.Unlock()
}

func (l *memLoader) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls
}

// ids returns the ids of the measures in a set, sorted.
func ids(tbl *engine.Table, s engine.MeasureSet) []string {
	var out []string
	for _, m := range tbl.Measures(s) {
		out = append(out, m.ID)
	}
	slices.Sort(out)
	return out
}

func sortedCopy(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

func TestTable(t *testing.T) {
	pol := testPolicy(t)

	t.Run("Check equals Decide", func(t *testing.T) {
		now := day(2026, 6, 1)
		passport := "P:CHN:E12345678"
		subjects := []*engine.Facts{
			subjectFacts(t, carol, consent("civic", day(2026, 1, 1), true),
				file("JUDGMENT_DEFAULT", day(2026, 3, 1), day(2026, 3, 1)),
				file("PYRAMID_SELLING", day(2026, 3, 1), day(2026, 3, 1))),
			subjectFacts(t, alice, consent("civic", day(2026, 1, 1), true),
				file("CIVIC_HONOUR", day(2026, 3, 1), day(2026, 3, 1)),
				file("JUDGMENT_DEFAULT", day(2026, 3, 1), day(2026, 3, 1))),
			subjectFacts(t, bob, link(org, "legal_representative", day(2026, 1, 1), time.Time{}),
				file("SPEEDING", day(2026, 3, 1), day(2026, 3, 1)),
				file("SPEEDING", day(2026, 4, 1), day(2026, 4, 1)),
				withOrg(subjectFacts(t, org, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1))))),
			subjectFacts(t, org, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1))),
			subjectFacts(t, minor, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1))),
			subjectFacts(t, passport, file("OBSTRUCTION", day(2026, 3, 1), day(2026, 3, 1)),
				file("POLLUTION", day(2026, 3, 1), day(2026, 3, 1))),
			subjectFacts(t, nobody), // no events
		}
		ld := newMemLoader()
		for _, f := range subjects {
			ld.set(f)
		}
		tbl := engine.NewTable(pol, "test", ld.load, now)
		for _, f := range subjects {
			if _, err := tbl.Refresh(f.ID.Canonical, now); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := tbl.Len(), len(subjects)-1; got != want {
			t.Errorf("Len = %d, want %d (the subject without events keeps the default)", got, want)
		}
		calls := ld.count()
		for _, f := range subjects {
			st := engine.Evaluate(pol, f, now, now)
			for _, sec := range pol.Sectors {
				t.Run(f.ID.Canonical+"/"+sec.ID, func(t *testing.T) {
					ref, ok := tbl.Sector(sec.ID)
					if !ok {
						t.Fatalf("sector %s unknown to the table", sec.ID)
					}
					v, err := tbl.Check(f.ID.Canonical, ref, now)
					if err != nil {
						t.Fatal(err)
					}
					d := st.Decide(sec.ID)
					if got, want := v.Effect.String(), d.Decision; got != want {
						t.Errorf("table effect = %s, Decide = %s", got, want)
					}
					var codes []string
					for _, r := range d.Reasons {
						codes = append(codes, r.Code)
					}
					if got, want := ids(tbl, v.Measures), sortedCopy(codes); !slices.Equal(got, want) {
						t.Errorf("table measures = %v, Decide reasons = %v", got, want)
					}
					if got, want := ids(tbl, v.Grants), sortedCopy(d.Grants); !slices.Equal(got, want) {
						t.Errorf("table grants = %v, Decide grants = %v", got, want)
					}
				})
			}
		}
		if got, want := ld.count(), calls; got != want {
			t.Errorf("checks called the loader %d times, want none", got-want)
		}
		if _, ok := tbl.Sector("casinos"); ok {
			t.Error("an unknown sector resolved")
		}
	})

	t.Run("entry past Next is recomputed", func(t *testing.T) {
		// On fake-goods from 2026-03-01 to 2028-03-01; the record's
		// lifetime ends on 2029-03-01.
		ld := newMemLoader()
		ld.set(subjectFacts(t, bob, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1))))
		tbl := engine.NewTable(pol, "test", ld.load, day(2027, 1, 1))
		e, err := tbl.Refresh(bob, day(2027, 1, 1))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.Next, day(2028, 3, 1).UnixNano(); got != want {
			t.Errorf("entry next = %v, want %v", time.Unix(0, got), time.Unix(0, want))
		}
		ref, _ := tbl.Sector("procurement")
		steps := []struct {
			now   time.Time
			want  engine.Effect
			calls int
		}{
			{day(2027, 6, 1), engine.EffectDeny, 1},
			{day(2028, 3, 1).Add(-time.Nanosecond), engine.EffectDeny, 1},
			{day(2028, 3, 1), engine.EffectAllow, 2}, // recomputed
			{day(2028, 6, 1), engine.EffectAllow, 2}, // next is now 2029-03-01
			{day(2029, 3, 1), engine.EffectAllow, 3}, // recomputed once more
			{day(2030, 3, 1), engine.EffectAllow, 3}, // never changes again
		}
		for _, s := range steps {
			v, err := tbl.Check(bob, ref, s.now)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := v.Effect, s.want; got != want {
				t.Errorf("at %v: effect = %v, want %v", s.now, got, want)
			}
			if got, want := ld.count(), s.calls; got != want {
				t.Errorf("at %v: loader calls = %d, want %d", s.now, got, want)
			}
		}
	})

	t.Run("subject without events gets the default entry", func(t *testing.T) {
		ld := newMemLoader()
		now := day(2026, 6, 1)
		tbl := engine.NewTable(pol, "test", ld.load, now)
		for _, s := range []string{nobody, org, "P:CHN:E12345678"} {
			for _, sec := range pol.Sectors {
				ref, _ := tbl.Sector(sec.ID)
				v, err := tbl.Check(s, ref, now)
				if err != nil {
					t.Fatal(err)
				}
				if v.Effect != engine.EffectAllow || !v.Measures.Empty() || !v.Grants.Empty() {
					t.Errorf("%s in %s: verdict = %+v, want a bare allow", s, sec.ID, v)
				}
			}
			e, err := tbl.Entry(s, now)
			if err != nil {
				t.Fatal(err)
			}
			if !e.InForce.Empty() {
				t.Errorf("%s: default entry has measures in force", s)
			}
		}
		if got := ld.count(); got != 0 {
			t.Errorf("loader called %d times, want 0", got)
		}
		if got := tbl.Len(); got != 0 {
			t.Errorf("Len = %d, want 0", got)
		}
	})

	t.Run("Put and Refresh after a new event", func(t *testing.T) {
		ld := newMemLoader()
		now := day(2026, 6, 1)
		tbl := engine.NewTable(pol, "test", ld.load, now)
		ref, _ := tbl.Sector("procurement")
		check := func(want engine.Effect) {
			t.Helper()
			v, err := tbl.Check(carol, ref, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Effect; got != want {
				t.Errorf("effect = %v, want %v", got, want)
			}
		}
		check(engine.EffectAllow)

		// A record is filed: the registry refreshes the subject.
		listed := subjectFacts(t, carol, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 5, 1)))
		ld.set(listed)
		check(engine.EffectAllow) // the table does not know yet
		if _, err := tbl.Refresh(carol, now); err != nil {
			t.Fatal(err)
		}
		check(engine.EffectDeny)
		if got, want := tbl.Len(), 1; got != want {
			t.Errorf("Len = %d, want %d", got, want)
		}

		// The record is voided: refreshed again, the sanction goes.
		ld.set(subjectFacts(t, carol, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 5, 1)), void(1, day(2026, 5, 20))))
		if _, err := tbl.Refresh(carol, now); err != nil {
			t.Fatal(err)
		}
		check(engine.EffectAllow)

		// Put stores an entry computed elsewhere, or drops it.
		tbl.Put(carol, engine.EntryOf(engine.Evaluate(pol, listed, now, now)), true)
		check(engine.EffectDeny)
		tbl.Put(carol, engine.Entry{}, false)
		check(engine.EffectAllow)
		if got, want := tbl.Len(), 0; got != want {
			t.Errorf("Len = %d, want %d", got, want)
		}
	})

	t.Run("a RIC and a USCC sharing 17 digits keep separate entries", func(t *testing.T) {
		// Both valid: a man born 1950-01-01 in Zhenjiang, and a notary's
		// office in Yanqing. Each bare string reads both ways, so the
		// canonical forms say which.
		person, company := "RIC:321101195001010439", "USCC:321101195001010438"
		if got, want := mustID(t, person).Kind, credo.Person; got != want {
			t.Fatalf("%s: kind %v, want %v", person, got, want)
		}
		if got, want := mustID(t, company).Kind, credo.Org; got != want {
			t.Fatalf("%s: kind %v, want %v", company, got, want)
		}
		now := day(2026, 6, 1)
		ld := newMemLoader()
		ld.set(subjectFacts(t, company, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1))))
		tbl := engine.NewTable(pol, "test", ld.load, now)
		if _, err := tbl.Refresh(company, now); err != nil {
			t.Fatal(err)
		}
		ref, _ := tbl.Sector("procurement")
		for _, c := range []struct {
			subject string
			want    engine.Effect
		}{{company, engine.EffectDeny}, {person, engine.EffectAllow}} {
			v, err := tbl.Check(c.subject, ref, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Effect; got != c.want {
				t.Errorf("%s: effect = %v, want %v", c.subject, got, c.want)
			}
		}
		tbl.Put(person, engine.Entry{}, false)
		if v, _ := tbl.Check(company, ref, now); v.Effect != engine.EffectDeny {
			t.Errorf("dropping the person's entry dropped the company's")
		}
	})

	t.Run("organisation without events gets the organisation default", func(t *testing.T) {
		// A variant where every person with a valid licence gets a grant:
		// the person and organisation defaults differ. An all-digit USCC
		// (914403001922038216) has the shape of a RIC but is a company.
		src := strings.Replace(string(policySrc), "measures:\n", "measures:\n  - {id: licence-perk, sector: driving, effect: grant, when: 'tiers.licence == \"VALID\"', legal_basis: Municipal rules art 9}\n", 1)
		perkPol, err := policy.Parse(policyFile, []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		now := day(2026, 6, 1)
		ld := newMemLoader()
		tbl := engine.NewTable(perkPol, "test", ld.load, now)
		ref, _ := tbl.Sector("driving")
		for _, s := range []string{org, nobody, "P:CHN:E12345678"} {
			v, err := tbl.Check(s, ref, now)
			if err != nil {
				t.Fatal(err)
			}
			d := engine.Evaluate(perkPol, &engine.Facts{ID: mustID(t, s)}, now, now).Decide("driving")
			if got, want := ids(tbl, v.Grants), sortedCopy(d.Grants); !slices.Equal(got, want) {
				t.Errorf("%s: table grants = %v, Decide grants = %v", s, got, want)
			}
		}
	})

	t.Run("subject without events under an age-dependent policy", func(t *testing.T) {
		// A variant where the licence scheme scores only adults and a
		// grant rewards a valid licence: a minor without events is not
		// scored, so gets no grant, while an adult without events does.
		src := string(policySrc)
		for _, r := range [][2]string{
			{"    base: 12\n", "    base: 12\n    min_age: 18\n"},
			{"measures:\n", "measures:\n  - {id: clean-licence-discount, sector: driving, effect: grant, when: 'tiers.licence == \"VALID\"', legal_basis: Municipal rules art 9}\n"},
		} {
			if strings.Count(src, r[0]) != 1 {
				t.Fatalf("test policy: %q is not unique", r[0])
			}
			src = strings.Replace(src, r[0], r[1], 1)
		}
		agePol, err := policy.Parse(policyFile, []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		now := day(2026, 6, 1)
		ld := newMemLoader()
		tbl := engine.NewTable(agePol, "test", ld.load, now)
		ref, _ := tbl.Sector("driving")
		for _, s := range []string{minor, nobody} {
			v, err := tbl.Check(s, ref, now)
			if err != nil {
				t.Fatal(err)
			}
			d := engine.Evaluate(agePol, &engine.Facts{ID: mustID(t, s)}, now, now).Decide("driving")
			if got, want := ids(tbl, v.Grants), sortedCopy(d.Grants); !slices.Equal(got, want) {
				t.Errorf("%s: table grants = %v, Decide grants = %v", s, got, want)
			}
		}
	})

	t.Run("loader error", func(t *testing.T) {
		tbl := engine.NewTable(pol, "test", func(string) (*engine.Facts, error) { return nil, errTest }, day(2026, 1, 1))
		tbl.Put(bob, engine.Entry{Next: day(2026, 2, 1).UnixNano()}, true)
		ref, _ := tbl.Sector("aviation")
		if _, err := tbl.Check(bob, ref, day(2026, 3, 1)); err != errTest {
			t.Errorf("err = %v, want the loader's", err)
		}
	})

	t.Run("concurrent checks and refreshes", func(t *testing.T) {
		ld := newMemLoader()
		now := day(2026, 6, 1)
		ld.set(subjectFacts(t, bob, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1))))
		tbl := engine.NewTable(pol, "test", ld.load, now)
		ref, _ := tbl.Sector("procurement")
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 200; i++ {
					if g%2 == 0 {
						if _, err := tbl.Refresh(bob, now); err != nil {
							t.Error(err)
						}
					}
					if _, err := tbl.Check(bob, ref, now); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		v, _ := tbl.Check(bob, ref, now)
		if got, want := v.Effect, engine.EffectDeny; got != want {
			t.Errorf("effect = %v, want %v", got, want)
		}
	})
}

type testError string

func (e testError) Error() string { return string(e) }

const errTest = testError("store unavailable")
