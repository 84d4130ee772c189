package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestID(t *testing.T) {
	t.Run("valid and invalid", func(t *testing.T) {
		code, out, _ := runCLI(t, "id", "11010519491231002X", "914403001922038216", "110105194912310021")
		if code != 1 {
			t.Fatalf("exit %d, want 1 (one invalid)", code)
		}
		if !strings.Contains(out, "11010519491231002X\tvalid\tperson, ric, Beijing Chaoyang (110105), born 1949-12-31") {
			t.Errorf("output lacks the RIC description:\n%s", out)
		}
		if !strings.Contains(out, "110105194912310021\tINVALID") || !strings.Contains(out, "check character is 1, expected X") {
			t.Errorf("output lacks the exact rejection:\n%s", out)
		}
	})
	t.Run("json", func(t *testing.T) {
		code, out, _ := runCLI(t, "id", "--json", "914403001922038216")
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		var reps []idReport
		if err := json.Unmarshal([]byte(out), &reps); err != nil {
			t.Fatal(err)
		}
		if got, want := reps[0].Kind, "org"; got != want {
			t.Errorf("kind = %q, want %q", got, want)
		}
		if got, want := reps[0].Region, "440300"; got != want {
			t.Errorf("region = %q, want %q", got, want)
		}
	})
}

func TestPolicyLint(t *testing.T) {
	t.Run("example passes", func(t *testing.T) {
		code, out, errs := runCLI(t, "policy", "lint", "../../policies/beijing.yaml")
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
	})
	t.Run("broken gives FILE:LINE", func(t *testing.T) {
		dir := t.TempDir()
		src := `name: broken
effective: 2026-01-01T00:00:00+08:00
timezone: Asia/Shanghai
authorities: [{id: court.x, name: X}]
sectors: [{id: aviation, domain: consumption}]
schemes: [{id: civic, subjects: [person], base: 1000, bounds: [0, 1200], tiers: [{A: 900}, {D: 0}]}]
lists: [{id: debtors, kind: black, legal_basis: law, domain: judicial}]
rules:
  - code: R
    legal_basis: law
    authorities: [court.*]
    subjects: [person]
    severity: serious
    lists: {debtors: until_fulfilled}
measures:
  - {id: ban, sector: aviation, effect: deny, when: 'tiers.civic == "D"', legal_basis: law}
procedures: {dispute: {review: 15d}, repair: {decide: 10wd}}
`
		file := dir + "/broken.yaml"
		writeFile(t, file, src)
		code, out, _ := runCLI(t, "policy", "lint", file)
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		for _, want := range []string{
			file + ":9: rule R: lifetime is required",
			file + ":14: rule R: listing on debtors until_fulfilled needs a maximum",
			file + ":16: measure ban: a deny or limit may depend only on list membership",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
}
