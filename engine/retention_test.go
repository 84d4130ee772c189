package engine_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"credo/engine"
	"credo/policy"
)

// retentionPolicy is the engine's test policy with the dishonest-debtors
// listing kept 1 year after it ends (the rules keep records 6 months after
// they stop counting), so that a list and a rule can each set the end.
func retentionPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	src, err := os.ReadFile("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	old := "  - id: dishonest-debtors\n    retention: {retain: 6mo,"
	if !strings.Contains(string(src), old) {
		t.Fatal("the test policy changed")
	}
	s := strings.Replace(string(src), old, "  - id: dishonest-debtors\n    retention: {retain: 1y,", 1)
	p, err := policy.Parse("retention.yaml", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestE01RetentionModel: retention runs from the end of the effect — the
// record stops counting or its last listing ends, whichever is later — for
// the longer of the rule's and the list's periods; a record voided as a
// correction from its revocation; an open objection holds the data.
func TestE01RetentionModel(t *testing.T) {
	p := retentionPolicy(t)
	f := subjectFacts(t, bob,
		file("JUDGMENT_DEFAULT", day(2026, 3, 2), day(2026, 3, 2)), // 1: listed until fulfilled, max 2y; counts 3y
		fulfil(1, day(2026, 6, 1)),
		file("POLLUTION", day(2026, 3, 2), day(2026, 3, 2)),  // 3: listed 1y, counts 2y
		file("FAKE_GOODS", day(2026, 3, 2), day(2026, 3, 2)), // 4: voided
		void(4, day(2026, 4, 1)),
	)
	items := engine.Retention(p, f, day(2026, 7, 1))
	want := []struct {
		id        int64
		effectEnd time.Time
		until     time.Time
		by        string
	}{
		// Fulfilled: record and listing end on 2026-06-01; the list keeps 1y.
		{1, day(2026, 6, 1), day(2027, 6, 1), "list dishonest-debtors"},
		// Counts until 2028-03-02 (+6mo); the listing ended 2027-03-02 (+6mo).
		{3, day(2028, 3, 2), day(2028, 9, 2), "rule POLLUTION"},
		// Voided on 2026-04-01: 6 months from the correction.
		{4, day(2026, 4, 1), day(2026, 10, 1), "rule FAKE_GOODS"},
	}
	if len(items) != len(want) {
		t.Fatalf("got %d items, want %d: %+v", len(items), len(want), items)
	}
	for i, w := range want {
		it := items[i]
		if it.RecordID != w.id || !it.EffectEnd.Equal(w.effectEnd) || !it.Until.Equal(w.until) || it.By != w.by || it.LegalBasis == "" || it.Held != "" {
			t.Errorf("item %d = %+v, want record %d effect end %v until %v by %s", i, it, w.id, w.effectEnd, w.until, w.by)
		}
	}

	s := engine.RetentionAt(p, f, day(2027, 7, 1), day(2027, 7, 1))
	if len(s.Expired) != 2 || s.Expired[0].RecordID != 1 || s.Expired[1].RecordID != 4 {
		t.Errorf("expired at 2027-07-01 = %+v, want records 1 and 4", s.Expired)
	}
	if !s.LastUntil.Equal(day(2028, 9, 2)) || s.Forgettable() {
		t.Errorf("last until %v forgettable %v, want 2028-09-02, false", s.LastUntil, s.Forgettable())
	}
	if s := engine.RetentionAt(p, f, day(2028, 9, 2), day(2028, 9, 2)); !s.Forgettable() || len(s.Expired) != 3 {
		t.Errorf("at 2028-09-02: forgettable %v, %d expired; want true, 3", s.Forgettable(), len(s.Expired))
	}

	// An open objection holds the record past its retention end.
	held := subjectFacts(t, bob,
		file("FAKE_GOODS", day(2026, 3, 2), day(2026, 3, 2)),
		void(1, day(2026, 4, 1)),
		dispute(1, day(2026, 3, 20)),
	)
	if s := engine.RetentionAt(p, held, day(2030, 1, 1), day(2030, 1, 1)); s.Forgettable() || len(s.Expired) != 0 || s.Items[0].Held == "" {
		t.Errorf("held: %+v, want the record held by the open objection", s)
	}
	// A check is kept 2 years.
	if got := engine.CheckRetainUntil(p, day(2026, 5, 1)); !got.Equal(day(2028, 5, 1)) {
		t.Errorf("check retained until %v, want 2028-05-01", got)
	}
}
