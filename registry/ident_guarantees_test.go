package registry_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/ident"
)

// Eighteen digits that read both ways: a valid ID card number whose USCC
// reading fails only its check character, and a valid USCC whose RIC
// reading fails only its check character (a mistyped ID card number, if
// it was meant as one).
const (
	ambPerson = "331101196109044709" // a woman born 1961-09-04 in Zhejiang
	ambOrg    = "131101191905202339" // a public institution registered in Yanqing
)

func wantFieldErr(t *testing.T, err error, field, msg string) {
	t.Helper()
	var e *credo.Error
	if !asErr(err, &e) || e.Code != credo.EINVALID || e.Field != field || !strings.Contains(e.Message, msg) {
		t.Fatalf("error %v: want EINVALID on %q containing %q", err, field, msg)
	}
}

// TestG04AmbiguousIdentifier holds issue 14 item 4 in the registry: an
// identifier that reads both as a RIC and as a USCC is never guessed; the
// filer says which (the record's kind, or the rule's subject kind), and the
// canonical subject then says it for good.
func TestG04AmbiguousIdentifier(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	reg := open(t, c)
	ctx := context.Background()
	decided := time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)

	for _, s := range []string{ambPerson, ambOrg} {
		_, err := reg.Check(ctx, s, "aviation")
		wantFieldErr(t, err, "subject", "person or org")
		if !ident.IsAmbiguous(err) {
			t.Errorf("%s: error %v is not ambiguous", s, err)
		}
		// A rule for persons and organisations cannot tell: refused, nothing filed.
		_, err = reg.FileRecord(ctx, judgment(s, "AMB-"+s, decided))
		wantFieldErr(t, err, "subject", `"kind"`)
	}

	// The filer says which.
	r := judgment(ambPerson, "AMB-1", decided)
	r.Kind = "person"
	res, err := reg.FileRecord(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Record.Subject, "RIC:"+ambPerson; got != want || res.Record.Kind != "" {
		t.Fatalf("filed subject %q (kind %q), want %q", got, res.Record.Kind, want)
	}
	d, err := reg.Check(ctx, "RIC:"+ambPerson, "aviation")
	if err != nil || d.Decision != engine.Deny {
		t.Fatalf("check of the person: %+v, %v", d, err)
	}
	if id, err := reg.ParseSubjectAs(ambPerson, credo.Person); err != nil || id.Canonical != "RIC:"+ambPerson {
		t.Fatalf("ParseSubjectAs person: %+v, %v", id, err)
	}
	// The company that shares the digits is not the person.
	if d, err := reg.Check(ctx, "USCC:"+ambOrg, "aviation"); err != nil || d.Decision != engine.Allow {
		t.Fatalf("check of the organisation: %+v, %v", d, err)
	}

	// A valid company code is not a person's mistyped ID card number.
	r = judgment(ambOrg, "AMB-2", decided)
	r.Kind = "person"
	_, err = reg.FileRecord(ctx, r)
	wantFieldErr(t, err, "subject", "it is a valid unified social credit code (USCC), an organisation's")

	// A rule for persons only says which by itself.
	r = judgment(ambPerson, "AMB-3", decided)
	r.Rule, r.Authority, r.Quantity = "LATE_UTILITY", "utility.water", 1
	if res, err := reg.FileRecord(ctx, r); err != nil || res.Record.Subject != "RIC:"+ambPerson {
		t.Fatalf("filing under a persons-only rule: %+v, %v", res, err)
	}

	r = judgment(ambPerson, "AMB-4", decided)
	r.Kind = "company"
	_, err = reg.FileRecord(ctx, r)
	wantFieldErr(t, err, "kind", "person or org")
}

// TestG05ImpossibleFacts holds issue 14 item 5 in the registry: no record
// decided before its subject was born, no subject born in the future.
func TestG05ImpossibleFacts(t *testing.T) {
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	reg := open(t, c)
	ctx := context.Background()

	// minor was born on 2015-06-01.
	_, err := reg.FileRecord(ctx, judgment(minor, "BIRTH-1", time.Date(2014, 1, 1, 0, 0, 0, 0, shanghai)))
	wantFieldErr(t, err, "decided_at", "before the subject was born (2015-06-01")
	_, err = reg.FileRecord(ctx, judgment(minor, "BIRTH-2", time.Date(2015, 5, 31, 23, 59, 0, 0, shanghai)))
	wantFieldErr(t, err, "decided_at", "before the subject was born")
	if _, err := reg.FileRecord(ctx, judgment(minor, "BIRTH-3", time.Date(2015, 6, 1, 0, 0, 0, 0, shanghai))); err != nil {
		t.Fatalf("decided on the birth date: %v", err)
	}

	unborn := ric("11010520270101001") // born 2027-01-01
	_, err = reg.Check(ctx, unborn, "aviation")
	wantFieldErr(t, err, "subject", "birth date 2027-01-01")
	_, err = reg.FileRecord(ctx, judgment(unborn, "BIRTH-4", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)))
	wantFieldErr(t, err, "subject", "in the future")
	// Born tomorrow in Beijing is still in the future today.
	tomorrow := ric("11010520260602001")
	_, err = reg.Check(ctx, tomorrow, "aviation")
	wantFieldErr(t, err, "subject", "in the future")
}
