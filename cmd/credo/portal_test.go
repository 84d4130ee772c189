package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"credo"
	"credo/sqlite"
)

func TestPortalCode(t *testing.T) {
	db := newRegistry(t)
	code, out, errs := runCLI(t, "portal", "code", "--db", db, ric(1))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !regexp.MustCompile(`^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}\n$`).MatchString(out) || !strings.Contains(errs, "signs in once") {
		t.Fatalf("stdout %q, stderr %q", out, errs)
	}
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, err := st.TokenByHash(context.Background(), credo.HashBytes([]byte(strings.ReplaceAll(strings.TrimSpace(out), "-", ""))))
	if err != nil {
		t.Fatalf("the code's token: %v", err)
	}
	if tok.Role != credo.RoleSubject || tok.Subject != ric(1) || tok.Name != "one-time code" || !tok.Revoked.IsZero() {
		t.Fatalf("token %+v", tok)
	}
	// A bad identifier is refused with the reason.
	if code, _, errs := runCLI(t, "portal", "code", "--db", db, "110105194912310021"); code != 1 || !strings.Contains(errs, "check character") {
		t.Fatalf("bad subject: exit %d: %s", code, errs)
	}
}
