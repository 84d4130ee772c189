package http_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	credohttp "credo/http"
)

// TestF04APIInstantsInPolicyZone: every instant in the API's JSON answers
// (a subject's file, history, notices and checks, a check, a logged check,
// the dispute queue, a public list, the policies) is written in RFC 3339
// with the offset of the policy's zone (+08:00 for Asia/Shanghai), never
// in UTC: the date in it is the day a person in Beijing would name.
func TestF04APIInstantsInPolicyZone(t *testing.T) {
	e := newEnv(t, credohttp.Options{})
	rec := e.file(alice, "Z1")
	if r := e.do("POST", "/v1/disputes", "alice", map[string]any{"record_id": rec.ID, "grounds": "not mine"}); r.status != http.StatusCreated {
		t.Fatalf("objecting: status %d: %s", r.status, r.body)
	}
	deny := e.check("airline", alice, "aviation")  // the slow path
	allow := e.check("airline", carol, "aviation") // the fast path
	instant := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)
	for _, c := range []struct{ path, token string }{
		{"/v1/subjects/" + alice, "admin"},
		{"/v1/subjects/" + alice + "/history", "admin"},
		{"/v1/subjects/" + alice + "/notices", "alice"},
		{"/v1/subjects/" + alice + "/checks", "alice"},
		{"/v1/checks/" + deny.CheckID, "admin"},
		{"/v1/checks/" + allow.CheckID, "admin"},
		{"/v1/disputes", "court"},
		{"/v1/lists/debtors?q=test+person", "admin"}, // with a token: a fresh census, not the one anonymous requests may find missing
		{"/v1/policies", "admin"},
		{"/v1/policies/" + e.policy, "admin"},
	} {
		r := e.do("GET", c.path, c.token, nil)
		if r.status != http.StatusOK {
			t.Errorf("GET %s: status %d: %s", c.path, r.status, r.body)
			continue
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatalf("GET %s: %v", c.path, err)
		}
		n := 0
		walkStrings(v, "", func(key, s string) {
			if !instant.MatchString(s) || s == "0001-01-01T00:00:00Z" {
				return
			}
			n++
			if s[len(s)-6:] != "+08:00" {
				t.Errorf("GET %s: %s is %s, not in the policy's zone (+08:00)", c.path, key, s)
			}
		})
		if n == 0 && c.path != "/v1/policies/"+e.policy {
			t.Errorf("GET %s: no instant in %s", c.path, r.body)
		}
	}
	for _, res := range []credohttp.CheckResult{deny, allow} {
		if _, off := res.At.Zone(); off != 8*3600 {
			t.Errorf("check %s (%s): at %s, not in the policy's zone", res.CheckID, res.Decision, res.At.Format("2006-01-02T15:04:05Z07:00"))
		}
	}
}

// walkStrings calls fn with every string in a decoded JSON value and the
// path of its key.
func walkStrings(v any, path string, fn func(key, s string)) {
	switch x := v.(type) {
	case string:
		fn(path, x)
	case []any:
		for _, y := range x {
			walkStrings(y, path+"[]", fn)
		}
	case map[string]any:
		for k, y := range x {
			walkStrings(y, path+"."+k, fn)
		}
	}
}
