package main

import (
	"path/filepath"
	"strings"
	"testing"

	"credo/policies"
	"credo/policy"
)

// TestF07ShowLang: show --lang zh-CN prints the policy's texts of the
// subject's file in Chinese (scheme, list, measure and rule titles, the
// authority's name, the measures' and lists' legal bases, how to contest,
// the headings and the notice) and none of them in English; --lang en the
// reverse; over --server the same as with --db. Without --lang the file
// prints as before.
func TestF07ShowLang(t *testing.T) {
	db := filepath.Join(t.TempDir(), "city.db")
	mustRun(t, "init", "--db", db, "--policy", "../../policies/beijing.yaml")
	mustRun(t, "ingest", "--db", db, "../../docs/tour/records.ndjson")
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	const subject = "11010519491231002X"
	plain := mustRun(t, "show", "--db", db, subject, "--at", "+30d")
	if strings.Contains(plain, "乘坐飞机") || strings.Contains(plain, "TITLE") {
		t.Errorf("show without --lang changed:\n%s", plain)
	}
	must := []string{"list dishonest-debtors: title", "list dishonest-debtors: legal_basis", "list dishonest-debtors: contest",
		"measure flight-ban: title", "measure flight-ban: legal_basis", "rule JUDGMENT_DEFAULT_ABILITY: title",
		"authority court.beijing.chaoyang: name", "scheme civic: title"}
	out := map[string]string{}
	for _, lang := range []string{"zh-CN", "en"} {
		other := map[string]string{"zh-CN": "en", "en": "zh-CN"}[lang]
		s := mustRun(t, "show", "--db", db, subject, "--at", "+30d", "--lang", lang)
		out[lang] = s
		for _, x := range pol.Texts() {
			in, not := x.Text.For(lang), x.Text.For(other)
			if in == not {
				continue
			}
			if strings.Contains(s, not) {
				t.Errorf("show --lang %s prints %s in %s: %q", lang, x.What, other, not)
			}
			for _, w := range must {
				if x.What == w && !strings.Contains(s, in) {
					t.Errorf("show --lang %s does not print %s (%q)", lang, w, in)
				}
			}
		}
	}
	for _, h := range []string{"措施", "法律依据", "如何提出异议", "告知书"} {
		if !strings.Contains(out["zh-CN"], h) {
			t.Errorf("show --lang zh-CN: no heading %s:\n%s", h, out["zh-CN"])
		}
	}
	if t.Failed() {
		t.Logf("show --lang zh-CN:\n%s", out["zh-CN"])
	}
	if code, _, errs := runCLI(t, "show", "--db", db, subject, "--lang", "fr"); code == 0 || !strings.Contains(errs, "--lang") {
		t.Errorf("show --lang fr: exit %d, %s", code, errs)
	}
	admin := strings.TrimSpace(mustRun(t, "token", "create", "--db", db, "--role", "admin"))
	base, stop := startServe(t, db)
	defer stop()
	remote := mustRun(t, "show", "--server", base, "--token", admin, subject, "--lang", "zh-CN")
	local := mustRun(t, "show", "--db", db, subject, "--lang", "zh-CN")
	if trimAt(remote) != trimAt(local) {
		t.Errorf("show --lang zh-CN over --server differs from --db:\n%s\n---\n%s", remote, local)
	}
}

// trimAt drops the first line (the instant of the answer).
func trimAt(s string) string {
	_, rest, _ := strings.Cut(s, "\n")
	return rest
}
