package main

import (
	"strings"
	"testing"
)

// TestG04KindFlag holds issue 14 item 4 on the command line: eighteen
// digits that read both as an ID card number and as a credit code are
// refused without --kind, with a message that says so, and read as told
// with it.
func TestG04KindFlag(t *testing.T) {
	const amb = "331101196109044709" // a valid ID card number; as a USCC only its check character is wrong
	code, out, _ := runCLI(t, "id", amb)
	if code != 1 || !strings.Contains(out, "--kind person or --kind org") {
		t.Fatalf("id %s: exit %d\n%s", amb, code, out)
	}
	code, out, _ = runCLI(t, "id", "--kind", "person", amb)
	if code != 0 || !strings.Contains(out, "RIC:"+amb+"\tvalid\tperson") {
		t.Fatalf("id --kind person: exit %d\n%s", code, out)
	}
	db := newRegistry(t)
	code, out, errs := runCLI(t, "check", "--db", db, amb, "aviation")
	if code == 0 || !strings.Contains(errs, "--kind") {
		t.Fatalf("check without --kind: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "check", "--db", db, "--kind", "person", amb, "aviation")
	if code != 0 || !strings.Contains(out, "RIC:"+amb+" aviation: ALLOW") {
		t.Fatalf("check --kind person: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "show", "--db", db, "--kind", "org", amb)
	if code == 0 || !strings.Contains(errs, "not a valid unified social credit code (USCC)") || !strings.Contains(errs, "a person's") {
		t.Fatalf("show --kind org: exit %d\n%s%s", code, out, errs)
	}
}

// TestG05KnownBeforeAnyPolicy holds issue 14 item 5 on the command line:
// --known before the first publication is the fault of --known, not --at.
func TestG05KnownBeforeAnyPolicy(t *testing.T) {
	db := newRegistry(t)
	for _, args := range [][]string{
		{"check", "--db", db, ric(1), "aviation", "--known", "2001-01-01"},
		{"show", "--db", db, ric(1), "--known", "2001-01-01"},
	} {
		code, out, errs := runCLI(t, args...)
		if code == 0 || !strings.Contains(errs, "--known") || strings.Contains(errs, "--at") || !strings.Contains(errs, "first policy was published") {
			t.Errorf("%s: exit %d\n%s%s", args[0], code, out, errs)
		}
	}
	code, _, errs := runCLI(t, "check", "--db", db, ric(1), "aviation", "--at", "2001-01-01")
	if code == 0 || !strings.Contains(errs, "--at") {
		t.Errorf("--at before any policy: exit %d\n%s", code, errs)
	}
}
