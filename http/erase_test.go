package http_test

import (
	"net/http"
	"strings"
	"testing"

	credohttp "credo/http"
)

// TestE01APIErasedAsUnknown: once a subject is erased through the API,
// the API answers about them as about a subject never filed about: their
// file, their checks and a fresh check; a check logged before is gone.
func TestE01APIErasedAsUnknown(t *testing.T) {
	e := newSealedEnv(t, credohttp.Options{RateLimit: -1})
	e.file(bob, "(2024)E01-api")
	before := e.check("airline", bob, "aviation")
	if before.Decision != "deny" {
		t.Fatalf("check before erasure: %+v", before)
	}
	unknown := ric(77)
	same := func(what, path string, body map[string]string) {
		t.Helper()
		method := "GET"
		var b1, b2 any
		if body != nil {
			method = "POST"
			c1, c2 := map[string]string{}, map[string]string{}
			for k, v := range body {
				c1[k], c2[k] = strings.ReplaceAll(v, "S", bob), strings.ReplaceAll(v, "S", unknown)
			}
			b1, b2 = c1, c2
		}
		r1 := e.do(method, strings.ReplaceAll(path, "S", bob), "admin", b1)
		r2 := e.do(method, strings.ReplaceAll(path, "S", unknown), "admin", b2)
		if method == "POST" {
			r1 = e.do(method, path, "airline", b1)
			r2 = e.do(method, path, "airline", b2)
		}
		norm := func(s string) string {
			s = strings.ReplaceAll(s, bob, "SUBJECT")
			s = strings.ReplaceAll(s, unknown, "SUBJECT")
			for _, f := range []string{`"check_id":"`, `"at":"`, `"known":"`} {
				for i := strings.Index(s, f); i >= 0; i = strings.Index(s, f) {
					j := strings.IndexByte(s[i+len(f):], '"')
					s = s[:i] + "<" + f[1:len(f)-3] + ">" + s[i+len(f)+j+1:]
				}
			}
			return s
		}
		if r1.status != r2.status || norm(string(r1.body)) != norm(string(r2.body)) {
			t.Errorf("%s of the erased subject: %d %s\nof an unknown one: %d %s", what, r1.status, r1.body, r2.status, r2.body)
		}
	}
	r := e.do("POST", "/v1/subjects/"+bob+"/erase", "admin", map[string]string{"reason": "court order", "legal_basis": "PIPL art. 47"})
	if r.status != http.StatusCreated || !strings.Contains(string(r.body), `"type":"subject.erased"`) || strings.Contains(string(r.body), bob) {
		t.Fatalf("erase: %d %s", r.status, r.body)
	}
	same("the file", "/v1/subjects/S", nil)
	same("the checks", "/v1/subjects/S/checks", nil)
	same("the notices", "/v1/subjects/S/notices", nil)
	same("a check", "/v1/checks", map[string]string{"subject": "S", "sector": "aviation"})
	if r := e.do("GET", "/v1/checks/"+before.CheckID, "admin", nil); r.status != http.StatusNotFound {
		t.Errorf("a check logged before the erasure: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/subjects/"+ric(78)+"/erase", "admin", map[string]string{"reason": "court order", "legal_basis": "x"}); r.status != http.StatusNotFound {
		t.Errorf("erasing a subject never known: %d %s", r.status, r.body)
	}
}
