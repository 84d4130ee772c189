package engine_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"credo/engine"
	"credo/policy"
)

// s05Reordered is the test policy with flight-ban moved after every other
// measure and bike-ban dropped: every measure index moves.
func s05Reordered(t testing.TB) *policy.Policy {
	t.Helper()
	testPolicy(t)
	src := string(policySrc)
	a, b := strings.Index(src, "  - id: flight-ban\n"), strings.Index(src, "  - id: rail-class-limit\n")
	block := src[a:b]
	src = src[:a] + src[b:]
	a, b = strings.Index(src, "  - id: bike-ban\n"), strings.Index(src, "  - id: deposit-free-bikes\n")
	src = src[:a] + src[b:]
	src = strings.Replace(src, "\nprocedures:", block+"\nprocedures:", 1)
	p, err := policy.Parse("reordered.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if p.Measure("flight-ban").Index() == testPolicy(t).Measure("flight-ban").Index() || p.Measure("bike-ban") != nil {
		t.Fatal("the measures did not move")
	}
	return p
}

// TestS05CarryOver (issue 19 item 5): carrying a table over to a version
// whose measures moved keeps each unaffected entry's measures by id (a
// dropped measure drops out) and its next change, and hands back the
// subjects with a record of an affected rule (their own or a linked
// organisation's), those without a rule mask and those past their next
// change.
func TestS05CarryOver(t *testing.T) {
	pol, pol2 := testPolicy(t), s05Reordered(t)
	now := day(2026, 6, 1)
	later := day(2027, 1, 1).UnixNano()
	old := engine.NewTable(pol, "v1", nil, now)
	fac := map[string]*engine.Facts{
		bob:   subjectFacts(t, bob, file("JUDGMENT_DEFAULT", day(2026, 2, 1), day(2026, 2, 1))),
		carol: subjectFacts(t, carol, file("LATE_UTILITY", day(2026, 3, 1), day(2026, 3, 1))),
		alice: subjectFacts(t, alice, link(org, "legal_representative", day(2020, 1, 1), time.Time{}),
			withOrg(subjectFacts(t, org, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1))))),
		org: subjectFacts(t, org, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1))),
	}
	var all engine.MeasureSet
	for _, m := range pol.Measures {
		all.Add(m.Index())
	}
	for s, f := range fac {
		old.PutFacts(s, engine.Entry{InForce: all, Next: later}, f)
	}
	old.Put(minor, engine.Entry{Next: later}, true)                                          // no mask
	stale := subjectFacts(t, nobody, file("LATE_UTILITY", day(2026, 3, 1), day(2026, 3, 1))) // past its next change
	old.PutFacts(nobody, engine.Entry{Next: now.UnixNano()}, stale)

	to := engine.NewTable(pol2, "v2", nil, now)
	reeval, carried := old.CarryOver(to, old.RuleBits([]string{"JUDGMENT_DEFAULT", "FAKE_GOODS"}), now)
	slices.Sort(reeval)
	want := []string{alice, bob, minor, nobody, org}
	slices.Sort(want)
	if !slices.Equal(reeval, want) || carried != 1 {
		t.Fatalf("re-evaluate %v and carry %d, want %v and 1 (carol)", reeval, carried, want)
	}
	e, own := to.Lookup(carol)
	if !own || e.Next != later {
		t.Fatalf("carol carried over as %+v (own %v)", e, own)
	}
	for _, m := range pol2.Measures {
		if !e.InForce.Has(m.Index()) {
			t.Errorf("measure %s (now at %d) lost in the carry-over", m.ID, m.Index())
		}
	}
	if n := len(to.Measures(e.InForce)); n != len(pol2.Measures) {
		t.Errorf("carried %d measures, want %d (bike-ban dropped)", n, len(pol2.Measures))
	}
	// The mask moves with the entry: carol is affected by her rule under
	// the new version's numbering.
	m, ok := to.Rules(carol)
	if !ok || m != to.RuleBits([]string{"LATE_UTILITY"}) {
		t.Errorf("carol's rule mask %b (%v), want LATE_UTILITY's %b", m, ok, to.RuleBits([]string{"LATE_UTILITY"}))
	}
}

// TestS05SnapshotKeepsRuleMasks: a table's snapshot keeps each entry's rule
// mask, and an entry stored without one still has none.
func TestS05SnapshotKeepsRuleMasks(t *testing.T) {
	pol := testPolicy(t)
	now := day(2026, 6, 1)
	tb := engine.NewTable(pol, "v1", nil, now)
	f := subjectFacts(t, bob, file("JUDGMENT_DEFAULT", day(2026, 2, 1), day(2026, 2, 1)), file("SPEEDING", day(2026, 2, 2), day(2026, 2, 2)))
	tb.PutFacts(bob, engine.Entry{Next: now.Add(time.Hour).UnixNano()}, f)
	fo := subjectFacts(t, org, file("FAKE_GOODS", day(2026, 3, 1), day(2026, 3, 1)))
	tb.PutFacts(org, engine.Entry{Next: now.Add(time.Hour).UnixNano()}, fo)
	tb.Put(carol, engine.Entry{}, true)
	tb.PutRules(alice, engine.Entry{}, tb.RuleBits([]string{"POLLUTION"}))
	var buf bytes.Buffer
	if _, err := tb.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	rt, err := engine.ReadTable(&buf, pol, "v1", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{bob, org, carol, alice} {
		m1, ok1 := tb.Rules(s)
		m2, ok2 := rt.Rules(s)
		if m1 != m2 || ok1 != ok2 {
			t.Errorf("%s: mask %b (%v) read back as %b (%v)", s, m1, ok1, m2, ok2)
		}
	}
	if m, _ := rt.Rules(bob); m != tb.RuleBits([]string{"JUDGMENT_DEFAULT", "SPEEDING"}) || m == 0 {
		t.Errorf("bob's mask %b", m)
	}
	if _, ok := rt.Rules(carol); ok {
		t.Error("an entry put without its facts has a mask")
	}
}
