package policy_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"credo/policy"
)

// TestE01RetentionRequired: the lint refuses personal data without a
// retention period, as it refuses a rule without a lifetime.
func TestE01RetentionRequired(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		line           int
		phrase         string
	}{
		{"RuleWithout", "    retention: {retain: 6mo, legal_basis: PIPL art 47}\n", "", 31, "rule DEFAULT: retention is required"},
		{"ListWithout", "    retention: {retain: 3wd, legal_basis: SPC Provisions (2017) art 10}\n", "", 19, "list debtors: retention is required"},
		{"CheckLogWithout", "check_log: {retain: 2y, legal_basis: PIPL art 47}\n", "", 1, "check_log: retention is required"},
		{"CheckLogZero", "check_log: {retain: 2y,", "check_log: {retain: 0d,", 55, "check_log: retain must be more than zero"},
		{"NoLegalBasis", "{retain: 6mo, legal_basis: PIPL art 47}", "{retain: 6mo}", 40, "rule DEFAULT: retention needs a legal_basis"},
		{"BasisButNoPeriod", "{retain: 6mo, legal_basis: PIPL art 47}", "{legal_basis: PIPL art 47}", 40, "rule DEFAULT: retention is required"},
		{"BadPeriod", "{retain: 6mo, legal_basis: PIPL art 47}", "{retain: forever, legal_basis: PIPL art 47}", 40, `duration "forever" must start with a number`},
		{"PublishForNotPublic", "    related_domains: [air-travel]\n", "    related_domains: [air-travel]\n    publish_for: 1y\n", 24, "list debtors: publish_for is set but the list is not public"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(basePolicy, tc.old) {
				t.Fatalf("%q is not in the base policy", tc.old)
			}
			src := strings.Replace(basePolicy, tc.old, tc.new, 1)
			_, err := policy.Parse("test.yaml", []byte(src))
			if err == nil {
				t.Fatal("parsed without error")
			}
			want := fmt.Sprintf("test.yaml:%d: ", tc.line)
			for _, l := range strings.Split(err.Error(), "\n") {
				if strings.HasPrefix(l, want) && strings.Contains(l, tc.phrase) {
					return
				}
			}
			t.Errorf("want %s...%s...; got:\n%v", want, tc.phrase, err)
		})
	}
	// A derived list keeps nothing of its own: it needs no retention (the
	// base policy's list low has none), and a 0d retention is allowed.
	src := strings.Replace(basePolicy, "{retain: 6mo, legal_basis: PIPL art 47}", "{retain: 0d, legal_basis: PIPL art 47}", 1)
	if _, err := policy.Parse("test.yaml", []byte(src)); err != nil {
		t.Fatal(err)
	}
}

// TestE01ExamplePoliciesDeclareRetention: every rule, every list a rule
// enters and the check log of the example policies declare a retention
// period with its legal basis and source.
func TestE01ExamplePoliciesDeclareRetention(t *testing.T) {
	for _, f := range []string{"../policies/beijing.yaml", "../policies/beijing-draft.yaml"} {
		p, err := policy.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		ok := func(what string, r policy.Retention) {
			if !r.Declared() || r.LegalBasis == "" || r.Source == "" {
				t.Errorf("%s: %s: retention %+v lacks a period, legal basis or source", f, what, r)
			}
		}
		ok("check_log", p.CheckLog)
		for _, r := range p.Rules {
			ok("rule "+r.Code, r.Retention)
		}
		for _, l := range p.Lists {
			if !l.Derived() {
				ok("list "+l.ID, l.Retention)
			}
		}
		if got := p.List("dishonest-debtors").Retention.Retain.String(); got != "3wd" {
			t.Errorf("%s: dishonest-debtors retain %s, want 3wd (SPC 2017 art 10)", f, got)
		}
		if got := p.CheckLog.Retain.String(); got != "2y" {
			t.Errorf("%s: check_log retain %s, want 2y", f, got)
		}
	}
}

// TestE05Published: an entry on a public list is published from its start
// while the listing is in force and the list's publication period runs,
// whichever ends first; never on a list that is not public.
func TestE05Published(t *testing.T) {
	p, err := policy.Load("../policies/beijing.yaml")
	if err != nil {
		t.Fatal(err)
	}
	loc := p.Location()
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, loc) }
	sid := p.List("serious-illegal-dishonest") // publish_for: 3y
	spc := p.List("dishonest-debtors")         // published while listed
	low := p.List("low-credit")                // not public
	since := d(2026, 5, 1)
	for _, tc := range []struct {
		name  string
		l     *policy.List
		until time.Time
		at    time.Time
		want  bool
	}{
		{"before start", sid, time.Time{}, d(2026, 4, 30), false},
		{"at start", sid, time.Time{}, since, true},
		{"within publish_for", sid, d(2031, 5, 1), d(2029, 4, 30), true},
		{"publish_for ran out, listing still in force", sid, d(2031, 5, 1), d(2029, 5, 1), false},
		{"listing ended before publish_for", sid, d(2027, 1, 1), d(2027, 1, 1), false},
		{"no publish_for: while listed", spc, d(2031, 5, 1), d(2031, 4, 30), true},
		{"no publish_for: listing ended", spc, d(2031, 5, 1), d(2031, 5, 1), false},
		{"open-ended listing", spc, time.Time{}, d(2040, 1, 1), true},
		{"not public", low, time.Time{}, d(2027, 1, 1), false},
	} {
		if got := p.Published(tc.l, since, tc.until, tc.at); got != tc.want {
			t.Errorf("%s: Published = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got, want := p.PublishedUntil(sid, since, time.Time{}), d(2029, 5, 1); !got.Equal(want) {
		t.Errorf("PublishedUntil = %v, want %v", got, want)
	}
}
