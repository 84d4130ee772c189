package policy_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"credo/policy"
)

func mustParse(t *testing.T, name, src string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse(name, []byte(src))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

// edit applies replacements to the base policy, each of which must match.
func edit(t *testing.T, src string, pairs ...string) string {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(src, pairs[i]) {
			t.Fatalf("%q is not in the policy", pairs[i])
		}
		src = strings.Replace(src, pairs[i], pairs[i+1], 1)
	}
	return src
}

func TestCompareSame(t *testing.T) {
	a := mustParse(t, "a.yaml", basePolicy)
	// Same concepts, other text: comments, flow vs block style, key order.
	b := mustParse(t, "b.yaml", "# a comment\n"+edit(t, basePolicy,
		"  - {id: court.a, name: Court A, kind: court}", "  - id: court.a\n    kind: court\n    name: Court A",
		"    points: {civic: -30}", "    points:\n      civic: -30 # thirty"))
	d := policy.Compare(a, b)
	if !d.Empty() {
		t.Fatalf("changes between equal policies: %+v", d.Changes)
	}
	var buf bytes.Buffer
	if err := d.WriteText(&buf); err != nil || !strings.Contains(buf.String(), "no differences") {
		t.Errorf("text = %q, %v", buf.String(), err)
	}
}

func TestCompare(t *testing.T) {
	a := mustParse(t, "old.yaml", basePolicy)
	b := mustParse(t, "new.yaml", edit(t, basePolicy,
		"holidays: [2026-01-01]", "holidays: [2026-01-01, 2026-01-02]",
		"  - {id: court.b, name: Court B, kind: court, appeal_to: court.a}\n", "",
		"    tiers: [{A: 960}, {D: 0}]", "    tiers: [{A: 980}, {B: 900}, {D: 0}]",
		"    related_domains: [air-travel]", "    related_domains: [air-travel, shared-mobility]\n    notice: 10d",
		"    points: {civic: -30}\n    lists: {debtors: {until_fulfilled: true, max: 5y}}",
		"    points: {civic: -50}\n    lists: {debtors: {until_fulfilled: true, max: 3y}}",
		"measures:\n", `  - code: FRAUD
    title: Fraud
    legal_basis: Criminal Law art 266
    authorities: ["court.*"]
    subjects: [person]
    severity: general
    points: {civic: -20}
    lifetime: 1y
    retention: {retain: 6mo, legal_basis: PIPL art 47}
measures:
`,
		`  - id: bikes
    sector: bike-share
    effect: grant
    when: tiers.civic == "A"
    legal_basis: Guofa 2016 No. 33
`, "",
		"    legal_basis: SPC 2015 art 3\n", "    legal_basis: SPC 2015 art 3\n    extends_to: [legal_representative]\n",
		"  dispute: {review: 15d, correct: 3wd}", "  dispute: {review: 30d, correct: 3wd}",
	))
	d := policy.Compare(a, b)
	type want struct {
		section, id, op string
		fields          map[string][2]string // field -> old, new
	}
	wants := []want{
		{"calendar", "", policy.OpChanged, map[string][2]string{"holidays": {"[2026-01-01]", "[2026-01-01, 2026-01-02]"}}},
		{"authorities", "court.b", policy.OpRemoved, nil},
		{"schemes", "civic", policy.OpChanged, map[string][2]string{"tiers.A.min": {"960", "980"}, "tiers.B.name": {"", "B"}, "tiers.B.min": {"", "900"}}},
		{"lists", "debtors", policy.OpChanged, map[string][2]string{"related_domains": {"[air-travel]", "[air-travel, shared-mobility]"}, "notice": {"", "10d"}}},
		{"rules", "DEFAULT", policy.OpChanged, map[string][2]string{"points.civic.each": {"-30", "-50"}, "lists.debtors.max": {"5y", "3y"}}},
		{"rules", "FRAUD", policy.OpAdded, nil},
		{"measures", "flight-ban", policy.OpChanged, map[string][2]string{"extends_to": {"", "[legal_representative]"}}},
		{"measures", "bikes", policy.OpRemoved, nil},
		{"procedures", "", policy.OpChanged, map[string][2]string{"dispute.review": {"15d", "30d"}}},
	}
	if len(d.Changes) != len(wants) {
		t.Errorf("%d changes, want %d: %+v", len(d.Changes), len(wants), d.Changes)
	}
	for i, w := range wants {
		if i >= len(d.Changes) {
			break
		}
		c := d.Changes[i]
		if c.Section != w.section || c.ID != w.id || c.Op != w.op {
			t.Errorf("change %d = %s %s %s, want %s %s %s", i, c.Section, c.ID, c.Op, w.section, w.id, w.op)
			continue
		}
		if w.op != policy.OpChanged {
			continue
		}
		got := map[string][2]string{}
		for _, f := range c.Fields {
			got[f.Field] = [2]string{f.Old, f.New}
		}
		if len(got) != len(w.fields) {
			t.Errorf("%s %s fields = %v, want %v", c.Section, c.ID, got, w.fields)
		}
		for f, v := range w.fields {
			if got[f] != v {
				t.Errorf("%s %s %s = %q → %q, want %q → %q", c.Section, c.ID, f, got[f][0], got[f][1], v[0], v[1])
			}
		}
	}
	// The added rule lists its settings; list fields give their items.
	for _, c := range d.Changes {
		if c.ID == "FRAUD" && !slices.ContainsFunc(c.Fields, func(f policy.FieldChange) bool { return f.Field == "points.civic.each" && f.New == "-20" }) {
			t.Errorf("added rule fields: %+v", c.Fields)
		}
		if c.ID == "debtors" {
			for _, f := range c.Fields {
				if f.Field == "related_domains" && (!slices.Equal(f.Added, []string{"shared-mobility"}) || len(f.Removed) != 0) {
					t.Errorf("related_domains added %v removed %v", f.Added, f.Removed)
				}
			}
		}
	}

	var buf bytes.Buffer
	if err := d.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"  - court.b — Court B",
		"  ~ DEFAULT",
		"      points.civic.each: -30 → -50",
		"      lists.debtors.max: 5y → 3y",
		"  + FRAUD — Fraud",
		"      related_domains: +shared-mobility",
		"      notice: (none) → 10d",
		"      dispute.review: 15d → 30d",
	} {
		if !strings.Contains(buf.String(), line+"\n") {
			t.Errorf("text lacks %q:\n%s", line, buf.String())
		}
	}
	if _, err := json.Marshal(d); err != nil {
		t.Fatal(err)
	}
}
