package policy_test

import (
	"fmt"
	"strings"
	"testing"

	"credo/policy"
)

// edited is the base policy with replacements applied (old, new, ...).
func edited(t *testing.T, pairs ...string) string {
	t.Helper()
	src := basePolicy
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(src, pairs[i]) {
			t.Fatalf("%q is not in the base policy", pairs[i])
		}
		src = strings.Replace(src, pairs[i], pairs[i+1], 1)
	}
	return src
}

// lintErrors parses src and returns its error messages ("" if it parses).
func lintErrors(t *testing.T, src string) string {
	t.Helper()
	_, err := policy.Parse("test.yaml", []byte(src))
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestG02LintDuringDispute: during_dispute: suspended on a derived list
// whose condition reads no tier or score can never apply; the lint
// refuses it rather than let it silently do nothing. On a list derived
// from a tier it applies (the engine decides the list without the
// disputed records) and is accepted.
func TestG02LintDuringDispute(t *testing.T) {
	src := edited(t, "    when: tiers.civic == \"D\"\n", "    when: '\"debtors\" in lists'\n    during_dispute: suspended\n")
	if msg := lintErrors(t, src); !strings.Contains(msg, "test.yaml:28: list low: during_dispute: suspended cannot apply") {
		t.Errorf("lint = %q", msg)
	}
	src = edited(t, "    when: tiers.civic == \"D\"\n", "    when: tiers.civic == \"D\"\n    during_dispute: suspended\n")
	if msg := lintErrors(t, src); msg != "" {
		t.Errorf("a tier-derived list suspended during dispute: %s", msg)
	}
}

// TestG03LintContestDeadlines: a list's contest text, which every notice
// quotes beside the deadlines of the procedure the registry tracks, may
// not state a deadline that procedure does not have ("reconsideration
// within 60 days" beside "appeal within 10 days").
func TestG03LintContestDeadlines(t *testing.T) {
	base := edited(t, "procedures:\n  dispute: {review: 15d, correct: 3wd}", "procedures:\n  dispute: {review: 15d, correct: 3wd, appeal_file: 10d}")
	for _, tc := range []struct {
		contest string
		want    string // "" accepted
	}{
		{"Object to the court (decided within 15 days); appeal within 10 days.", ""},
		{"Corrected within 3 working days. SPC Provisions 2017 art 11.", ""},
		{"Apply for administrative reconsideration within 60 days.", `contest states a deadline of "60 days"`},
		{"Corrected within 3 days.", `contest states a deadline of "3 days"`},
		{"可在60日内申请行政复议。", `contest states a deadline of "60日"`},
		{"依据2017年规定，15日内决定。", ""},
	} {
		src := strings.Replace(base, "    related_domains: [air-travel]\n", "    related_domains: [air-travel]\n    contest: \""+tc.contest+"\"\n", 1)
		msg := lintErrors(t, src)
		if tc.want == "" && msg != "" || tc.want != "" && !strings.Contains(msg, tc.want) {
			t.Errorf("contest %q: lint = %q, want %q", tc.contest, msg, tc.want)
		}
	}
}

// TestG11ConditionCost: cel-go's cost estimate bounds every condition and
// the policy's conditions together, for drafts and published policies
// alike, and programs carry a runtime cost limit.
func TestG11ConditionCost(t *testing.T) {
	seq := func(n int) string {
		xs := make([]string, n)
		for i := range xs {
			xs[i] = fmt.Sprint(i + 1)
		}
		return "[" + strings.Join(xs, ", ") + "]"
	}
	cubic := seq(30) + ".all(a, " + seq(30) + ".all(b, " + seq(30) + ".all(c, a + b + c > 0)))"
	t.Run("one condition", func(t *testing.T) {
		src := edited(t, `when: tiers.civic == "A"`, "when: '"+cubic+"'")
		if msg := lintErrors(t, src); !strings.Contains(msg, "test.yaml:50: measure bikes: condition") || !strings.Contains(msg, "more than the 10000 allowed for one condition") {
			t.Errorf("lint = %q", msg)
		}
	})
	t.Run("quadratic on lists", func(t *testing.T) {
		// lists holds at most as many ids as the policy declares lists.
		src := edited(t, `when: tiers.civic == "A"`, `when: 'lists.all(a, lists.all(b, a != b || a == "debtors"))'`)
		if msg := lintErrors(t, src); msg != "" {
			t.Errorf("a small comprehension over lists refused: %s", msg)
		}
	})
	t.Run("the whole policy", func(t *testing.T) {
		square := seq(20) + ".all(a, " + seq(20) + ".all(b, a + b > 0))"
		var lists strings.Builder
		for i := range 60 {
			fmt.Fprintf(&lists, "  - id: sq%d\n    kind: watch\n    when: '%s'\n    legal_basis: Test basis\n    domain: general-credit\n", i, square)
		}
		src := edited(t, "rules:\n", lists.String()+"rules:\n")
		if msg := lintErrors(t, src); !strings.Contains(msg, "the policy's conditions may together cost up to") || strings.Contains(msg, "allowed for one condition") {
			t.Errorf("lint = %q", msg)
		}
	})
	t.Run("runtime limit", func(t *testing.T) {
		prg, err := policy.CompileCondition(cubic)
		if err != nil {
			t.Fatal(err)
		}
		if policy.Eval(prg, &policy.Vars{}) {
			t.Error("a condition over its cost limit evaluated to true: no runtime limit")
		}
		prg, err = policy.CompileCondition(seq(3) + ".all(a, a > 0)")
		if err != nil {
			t.Fatal(err)
		}
		if !policy.Eval(prg, &policy.Vars{}) {
			t.Error("a cheap condition is false")
		}
	})
}

// TestG12GrantRevealsTier: a provider told "grant" must not learn a tier
// unknowingly. The lint warns of every grant whose answer is a function of
// a tier or score, directly or through a derived list, and not of one a
// rule-entered list decides.
func TestG12GrantRevealsTier(t *testing.T) {
	for _, tc := range []struct {
		name, when, want string
	}{
		{"direct", `when: tiers.civic == "A"`, "its condition reads the tier (civic)"},
		{"score", `when: scores.civic > 1100`, "its condition reads the tier (civic)"},
		{"through a derived list", `when: '"low" in lists'`, "list low is derived from the tier (civic)"},
		{"a rule-entered list", `when: '"debtors" in lists'`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := policy.Parse("test.yaml", []byte(edited(t, `when: tiers.civic == "A"`, tc.when)))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range p.Warnings {
				if strings.Contains(w.Message, "reveals a tier") {
					got = append(got, w.String())
				}
			}
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("warned: %v", got)
			case tc.want != "" && (len(got) != 1 || !strings.HasPrefix(got[0], "test.yaml:47: warning: measure bikes: grant in sector bike-share reveals a tier") || !strings.Contains(got[0], tc.want)):
				t.Errorf("warnings %v, want one containing %q", got, tc.want)
			}
		})
	}
}
