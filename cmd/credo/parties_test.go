package main

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"credo"
	"credo/storetest"
)

// TestG08CheckLogged: `credo check --db` logs the check like the server
// does, so the subject's "who checked me" is complete.
func TestG08CheckLogged(t *testing.T) {
	db := newRegistry(t)
	fileJudgments(t, db, 1)
	code, out, errs := runCLI(t, "check", "--db", db, ric(500), "aviation")
	if code != 0 || !strings.Contains(out, "DENY") {
		t.Fatalf("check: exit %d %s%s", code, out, errs)
	}
	st, err := openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs, err := st.ChecksOf(context.Background(), ric(500), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Sector != "aviation" || cs[0].Decision != "deny" || cs[0].Checker != CLIChecker {
		t.Fatalf("logged checks %+v, want the command-line check", cs)
	}
}

// TestG07RecordAndLinkCommands: fulfil and revoke a record, add and end a
// link, from the command line, with the API's validation.
func TestG07RecordAndLinkCommands(t *testing.T) {
	db := newRegistry(t)
	ids := fileJudgments(t, db, 2)
	id0, id1 := strconv.FormatInt(ids[0], 10), strconv.FormatInt(ids[1], 10)
	if code, _, errs := runCLI(t, "record", "fulfil", "--db", db, id0); code == 0 || !strings.Contains(errs, "reason") {
		t.Errorf("fulfil without reason: exit %d %s", code, errs)
	}
	if code, _, errs := runCLI(t, "record", "fulfil", "--db", db, id0, "--reason", "paid", "--authority", "utility.water"); code == 0 || !strings.Contains(errs, "another authority") {
		t.Errorf("fulfil by another authority: exit %d %s", code, errs)
	}
	if code, out, errs := runCLI(t, "record", "fulfil", "--db", db, id0, "--reason", "paid", "--authority", "court.test"); code != 0 || !strings.Contains(out, string(credo.EventRecordFulfilled)) {
		t.Errorf("fulfil: exit %d %s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "record", "revoke", "--db", db, id1, "--reason", "wrong person", "--void"); code != 0 || !strings.Contains(out, string(credo.EventRecordRevoked)) {
		t.Errorf("revoke: exit %d %s%s", code, out, errs)
	}
	org := storetest.USCC(1)
	args := []string{"--db", db, "--org", org, "--person", ric(9), "--role", "legal_representative", "--authority", "court.test", "--legal-basis", "Company Law art 10"}
	if code, _, errs := runCLI(t, append([]string{"link", "add", "--from", "2099-01-01"}, args...)...); code == 0 || !strings.Contains(errs, "future") {
		t.Errorf("link from the future: exit %d %s", code, errs)
	}
	if code, out, errs := runCLI(t, append([]string{"link", "add", "--from", "2021-01-01"}, args...)...); code != 0 || !strings.Contains(out, "linked") {
		t.Errorf("link add: exit %d %s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, append([]string{"link", "end", "--until", "2022-01-01"}, args...)...); code != 0 || !strings.Contains(out, "ended") {
		t.Errorf("link end: exit %d %s%s", code, out, errs)
	}
}

// TestG16RecordCommandAppendsNothing: the same fulfilment or revocation
// again from the command line changes nothing and appends nothing, as
// through the API (one function, registry.ChangeRecordAs, serves both);
// a void revocation after a plain one still changes the record.
func TestG16RecordCommandAppendsNothing(t *testing.T) {
	db := newRegistry(t)
	ids := fileJudgments(t, db, 2)
	id0, id1 := strconv.FormatInt(ids[0], 10), strconv.FormatInt(ids[1], 10)
	events := func() string {
		t.Helper()
		code, out, errs := runCLI(t, "verify", "--db", db, "--log-only")
		if code != 0 {
			t.Fatalf("verify: %d %s%s", code, out, errs)
		}
		return strings.Fields(out)[1] // "ok: N events, ..."
	}
	steps := []struct {
		args    []string
		appends bool
	}{
		{[]string{"record", "fulfil", "--db", db, id0, "--reason", "paid", "--at", "2025-03-01"}, true},
		{[]string{"record", "fulfil", "--db", db, id0, "--reason", "paid", "--at", "2025-03-01"}, false},
		{[]string{"record", "fulfil", "--db", db, id0, "--reason", "paid again", "--at", "2025-04-01"}, false},
		{[]string{"record", "revoke", "--db", db, id1, "--reason", "wrong person"}, true},
		{[]string{"record", "revoke", "--db", db, id1, "--reason", "wrong person"}, false},
		{[]string{"record", "revoke", "--db", db, id1, "--reason", "wrong person", "--void"}, true},
		{[]string{"record", "revoke", "--db", db, id1, "--reason", "wrong person", "--void"}, false},
	}
	for _, st := range steps {
		before := events()
		if code, out, errs := runCLI(t, st.args...); code != 0 {
			t.Fatalf("%v: exit %d %s%s", st.args, code, out, errs)
		}
		if after := events(); (after != before) != st.appends {
			t.Errorf("%v: events %s -> %s, want an append: %v", st.args, before, after, st.appends)
		}
	}
}
