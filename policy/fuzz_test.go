package policy_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"credo/policy"
)

// FuzzParseDuration checks that any text either fails to parse or parses to
// a duration that prints back to an equal one, and that adding it to an
// instant never goes backwards.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"10d", "3wd", "6mo", "2y", "0d", "007wd", "36600d", "100y", "1180mo", "", "d", "1.5y", "-1d", "99999999999999999999d", "1w"} {
		f.Add(s)
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		f.Fatal(err)
	}
	cal := &policy.Calendar{Loc: loc}
	from := time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := policy.ParseDuration(s)
		if err != nil {
			if d != (policy.Duration{}) {
				t.Errorf("ParseDuration(%q) = %+v with error %v", s, d, err)
			}
			return
		}
		if d.IsZero() || d.N < 0 {
			t.Fatalf("ParseDuration(%q) = %+v", s, d)
		}
		back, err := policy.ParseDuration(d.String())
		if err != nil {
			t.Fatalf("ParseDuration(%q) = %v; its String %q does not parse: %v", s, d, d.String(), err)
		}
		if back != d {
			t.Errorf("round trip %q -> %+v -> %q -> %+v", s, d, d.String(), back)
		}
		if to := cal.Add(from, d); to.Before(from) {
			t.Errorf("%v + %s = %v, before", from, d, to)
		}
	})
}

// FuzzParse checks that Parse never panics, and that whatever it returns is
// one of: a policy (with warnings only), or Errors located in the file.
func FuzzParse(f *testing.F) {
	if src, err := os.ReadFile(examplePath); err == nil {
		f.Add(src)
	} else {
		f.Fatal(err)
	}
	f.Add([]byte(basePolicy))
	for _, tc := range brokenCases {
		f.Add([]byte(tc.src()))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := policy.Parse("fuzz.yaml", src)
		if err != nil {
			if p != nil {
				t.Fatalf("a policy along with errors")
			}
			var errs policy.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %T is not policy.Errors: %v", err, err)
			}
			if len(errs) == 0 {
				t.Fatalf("empty Errors")
			}
			lines := 1 // YAML breaks lines at LF, CR, NEL, LS and PS
			for _, r := range string(src) {
				if strings.ContainsRune("\n\r\u0085\u2028\u2029", r) {
					lines++
				}
			}
			for _, d := range errs {
				if d.Warning || d.Message == "" || d.File != "fuzz.yaml" {
					t.Errorf("bad diagnostic %+v", d)
				}
				if d.Line < 1 || d.Line > lines {
					t.Errorf("diagnostic %v: line out of the file's %d lines", d, lines)
				}
			}
			return
		}
		if p == nil {
			t.Fatalf("no policy and no error")
		}
		for _, w := range p.Warnings {
			if !w.Warning {
				t.Errorf("error among the warnings: %v", w)
			}
		}
		// A policy that loads can be used: every accessor works.
		_ = p.Location()
		for _, m := range p.Measures {
			if p.Measure(m.ID) != m || p.Sector(m.Sector) == nil {
				t.Errorf("measure %s: lookups fail", m.ID)
			}
			if m.Sanction() && len(m.Lists()) == 0 {
				t.Errorf("sanction %s names no list", m.ID)
			}
			policy.Eval(m.Program(), &policy.Vars{Lists: m.Lists()})
		}
		for _, l := range p.Lists {
			if l.Derived() && l.Program() == nil {
				t.Errorf("derived list %s has no program", l.ID)
			}
			_ = p.DisputeProcedureFor(l)
		}
		for _, r := range p.Rules {
			if r.Lifetime.N <= 0 {
				t.Errorf("rule %s: lifetime %v", r.Code, r.Lifetime)
			}
			_ = p.Calendar.Add(p.Effective, r.Lifetime)
		}
		for _, s := range p.Schemes {
			_ = s.TierOf(s.Base)
		}
	})
}
