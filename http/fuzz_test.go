package http_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	credohttp "credo/http"
)

// FuzzHandlers posts arbitrary bodies to the record and check endpoints:
// whatever the input, the answer is never a server error, and every error
// is a problem+json document.
func FuzzHandlers(f *testing.F) {
	e := newEnv(f, credohttp.Options{RateLimit: -1})
	seeds := []string{
		`{"subject":"` + alice + `","sector":"aviation"}`,
		`{"subject":"` + alice + `","rule":"JUDGMENT_DEFAULT","case_ref":"f1","decided_at":"2025-01-01","evidence_sha256":"` + digest("f") + `"}`,
		`{"subject":"` + alice + `","rule":"LATE_UTILITY","authority":"court.test","case_ref":"f2","decided_at":"2025-01-01T00:00:00Z","evidence_sha256":"` + digest("f") + `","quantity":1e308}`,
		`{"subject":"P:CHN:E12345678","sector":"rail"}`,
		`{"subject":"914403001922038216","sector":"internet"}`,
		`{"quantity":-0,"decided_at":"0000-01-01"}`,
		`{"subject":null,"sector":null}`,
		`{"subject":"\u0000","sector":"\ud800"}`,
		`[]`, `""`, `1`, `{`, `{"a":{"b":[[[[]]]]}}`, "\xff\xfe",
	}
	for _, s := range seeds {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
	}
	h := e.srv.Handler()
	court, airline := e.auth("court"), e.auth("airline")
	f.Fuzz(func(t *testing.T, body string, target uint8) {
		path, token := "/v1/records", court
		if target%2 == 1 {
			path, token = "/v1/checks", airline
		}
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Authorization", token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %s %q: status %d: %s", path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var p credohttp.Problem
			if rec.Header().Get("Content-Type") != "application/problem+json" || json.NewDecoder(bytes.NewReader(rec.Body.Bytes())).Decode(&p) != nil || p.Status != rec.Code {
				t.Fatalf("POST %s %q: status %d without a problem document: %s", path, body, rec.Code, rec.Body)
			}
		} else if rec.Code != http.StatusOK && rec.Code != http.StatusCreated {
			t.Fatalf("POST %s %q: status %d", path, body, rec.Code)
		}
	})
}
