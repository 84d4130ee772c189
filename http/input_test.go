package http_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	credohttp "credo/http"
)

func TestBadInput(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1})
	rec := e.file(alice, "(2025)Bad-1")
	withField := func(k string, v any) map[string]any {
		m := judgment(bob, "(2025)Bad-2")
		m[k] = v
		return m
	}
	without := func(k string) map[string]any {
		m := judgment(bob, "(2025)Bad-3")
		delete(m, k)
		return m
	}
	many := make([]string, 1001)
	for i := range many {
		many[i] = alice
	}
	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		field                     string // the field the problem must name ("" for none)
		detail                    string // a substring of the detail
	}{
		{"malformed JSON", "POST", "/v1/records", "court", `{"subject":`, 400, "", "ends in the middle"},
		{"JSON syntax error", "POST", "/v1/records", "court", `{"subject" 1}`, 400, "", "malformed JSON"},
		{"empty body", "POST", "/v1/records", "court", ``, 400, "", "empty"},
		{"array body", "POST", "/v1/records", "court", `[1,2]`, 400, "", "JSON object"},
		{"null body", "POST", "/v1/records", "court", `null`, 400, "subject", "required"},
		{"trailing data", "POST", "/v1/records", "court", `{"subject":"x"} {"a":1}`, 400, "", "after the JSON object"},
		{"wrong type string", "POST", "/v1/records", "court", withField("quantity", "ten"), 400, "quantity", "must be a number"},
		{"wrong type number", "POST", "/v1/records", "court", withField("subject", 110105), 400, "subject", "must be a string"},
		{"wrong type object", "POST", "/v1/records", "court", withField("rule", map[string]int{"a": 1}), 400, "rule", ""},
		{"unknown field", "POST", "/v1/records", "court", withField("subjekt", "x"), 400, "subjekt", "unknown field"},
		{"assigned field", "POST", "/v1/records", "court", withField("id", 7), 400, "id", "unknown field"},
		{"invalid identifier", "POST", "/v1/records", "court", withField("subject", "110105194912310021"), 400, "subject", "check character"},
		{"missing subject", "POST", "/v1/records", "court", without("subject"), 400, "subject", "required"},
		{"missing decided_at", "POST", "/v1/records", "court", without("decided_at"), 400, "decided_at", "required"},
		{"bad time", "POST", "/v1/records", "court", withField("decided_at", "yesterday"), 400, "decided_at", ""},
		{"bad date", "POST", "/v1/records", "court", withField("decided_at", "2025-13-01"), 400, "decided_at", ""},
		{"future time", "POST", "/v1/records", "court", withField("decided_at", "2999-01-01"), 400, "decided_at", "future"},
		{"bad notified_at", "POST", "/v1/records", "court", withField("notified_at", "soon"), 400, "notified_at", ""},
		{"bad digest", "POST", "/v1/records", "court", withField("evidence_sha256", "abc"), 400, "evidence_sha256", ""},
		{"unknown rule", "POST", "/v1/records", "court", withField("rule", "NOPE"), 400, "rule", "unknown rule"},
		{"rule not for the authority", "POST", "/v1/records", "water", withField("authority", "utility.water"), 403, "authority", "may not file"},
		{"unknown query parameter", "POST", "/v1/records?x=1", "court", judgment(bob, "q1"), 400, "x", "unknown query parameter"},
		{"oversized body", "POST", "/v1/records", "court", `{"subject":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "", "larger than"},

		{"batch oversized", "POST", "/v1/records/batch", "court", strings.Repeat("x", 65<<20), 413, "", "larger than"},
		{"batch unknown query", "POST", "/v1/records/batch?dry=1", "court", "", 400, "dry", ""},

		{"change: record id", "POST", "/v1/records/abc/revoke", "court", map[string]string{"reason": "x"}, 400, "id", "positive integer"},
		{"change: unknown record", "POST", "/v1/records/999999/revoke", "court", map[string]string{"reason": "x"}, 404, "", ""},
		{"change: no reason", "POST", "/v1/records/" + itoa(rec.ID) + "/revoke", "court", map[string]string{}, 400, "reason", "required"},
		{"change: bad at", "POST", "/v1/records/" + itoa(rec.ID) + "/revoke", "court", map[string]string{"reason": "x", "at": "now"}, 400, "at", ""},
		{"change: void on fulfil", "POST", "/v1/records/" + itoa(rec.ID) + "/fulfil", "court", map[string]any{"reason": "x", "void": true}, 400, "void", ""},
		{"change: wrong type", "POST", "/v1/records/" + itoa(rec.ID) + "/fulfil", "court", map[string]any{"reason": 1}, 400, "reason", ""},

		{"state: invalid identifier", "GET", "/v1/subjects/123", "admin", nil, 400, "id", ""},
		{"state: bad at", "GET", "/v1/subjects/" + alice + "?at=tomorrow", "admin", nil, 400, "at", ""},
		{"state: bad known", "GET", "/v1/subjects/" + alice + "?known=2025-02-30", "admin", nil, 400, "known", ""},
		{"state: unknown query", "GET", "/v1/subjects/" + alice + "?foo=1", "admin", nil, 400, "foo", "unknown query parameter"},
		{"state: repeated query", "GET", "/v1/subjects/" + alice + "?at=2025-01-01&at=2025-02-01", "admin", nil, 400, "at", "2 times"},
		{"state: malformed query", "GET", "/v1/subjects/" + alice + "?at=%zz", "admin", nil, 400, "query", ""},
		{"history: from after to", "GET", "/v1/subjects/" + alice + "/history?from=2025-01-01&to=2024-01-01", "admin", nil, 400, "from", ""},
		{"history: bad from", "GET", "/v1/subjects/" + alice + "/history?from=x", "admin", nil, 400, "from", ""},
		{"checks log: bad limit", "GET", "/v1/subjects/" + alice + "/checks?limit=-1", "admin", nil, 400, "limit", ""},

		{"consent: missing given", "POST", "/v1/consents", "alice", map[string]any{"scheme": "green"}, 400, "given", "required"},
		{"consent: unknown scheme", "POST", "/v1/consents", "alice", map[string]any{"scheme": "nope", "given": true}, 400, "scheme", "unknown"},
		{"consent: scheme without consent", "POST", "/v1/consents", "alice", map[string]any{"scheme": "civic", "given": true}, 400, "scheme", ""},
		{"consent: wrong type", "POST", "/v1/consents", "alice", map[string]any{"scheme": "green", "given": "yes"}, 400, "given", ""},

		{"check: invalid identifier", "POST", "/v1/checks", "airline", map[string]string{"subject": "12345", "sector": "aviation"}, 400, "subject", ""},
		{"check: missing subject", "POST", "/v1/checks", "airline", map[string]string{"sector": "aviation"}, 400, "subject", "required"},
		{"check: missing sector", "POST", "/v1/checks", "airline", map[string]string{"subject": alice}, 400, "sector", "required"},
		{"check: unknown sector", "POST", "/v1/checks", "admin", map[string]string{"subject": alice, "sector": "moon"}, 400, "sector", "unknown sector"},
		{"check: unknown field", "POST", "/v1/checks", "airline", map[string]string{"subject": alice, "sector": "aviation", "at": "2020-01-01"}, 400, "at", "unknown field"},
		{"check: wrong type", "POST", "/v1/checks", "airline", map[string]any{"subject": []string{alice}, "sector": "aviation"}, 400, "subject", ""},
		{"batch: too many", "POST", "/v1/checks/batch", "airline", map[string]any{"subjects": many, "sector": "aviation"}, 400, "subjects", "at most 1000"},
		{"batch: none", "POST", "/v1/checks/batch", "airline", map[string]any{"subjects": []string{}, "sector": "aviation"}, 400, "subjects", ""},
		{"batch: wrong element type", "POST", "/v1/checks/batch", "airline", map[string]any{"subjects": []int{1}, "sector": "aviation"}, 400, "subjects", ""},
		{"replay: bad id", "GET", "/v1/checks/zz", "admin", nil, 400, "id", ""},
		{"replay: unknown id", "GET", "/v1/checks/0000000000000000", "admin", nil, 404, "id", ""},

		{"list: bad limit", "GET", "/v1/lists/debtors?limit=abc", "", nil, 400, "limit", ""},
		{"list: unknown", "GET", "/v1/lists/nope", "", nil, 404, "", ""},
		{"policy: bad hash", "GET", "/v1/policies/xyz", "", nil, 400, "hash", ""},
		{"policy: unknown hash", "GET", "/v1/policies/0123456789abcdef", "", nil, 404, "", ""},
		{"publish: lint errors", "POST", "/v1/policies", "admin", "name: x\nschemes: 7\n", 400, "", "error"},
		{"publish: not YAML", "POST", "/v1/policies", "admin", "{{{", 400, "", ""},
		{"publish: empty", "POST", "/v1/policies", "admin", "", 400, "", "empty"},
		{"publish: bad effective", "POST", "/v1/policies?effective=soon", "admin", readFile(t, testPolicy), 400, "effective", ""},
		{"publish: again", "POST", "/v1/policies", "admin", readFile(t, testPolicy), 409, "", "already published"},
		{"stats: bad to", "GET", "/v1/stats?to=x", "admin", nil, 400, "to", ""},

		{"wrong method", "DELETE", "/v1/records", "admin", nil, 405, "", "not allowed"},
		{"unknown path", "GET", "/v1/nothing", "admin", nil, 404, "", "no such endpoint"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.path, c.token, c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			p := r.problem(t)
			if p.Field != c.field {
				t.Errorf("field %q, want %q: %s", p.Field, c.field, r.body)
			}
			if !strings.Contains(p.Detail, c.detail) {
				t.Errorf("detail %q does not say %q", p.Detail, c.detail)
			}
			if !strings.HasPrefix(p.Type, credohttp.ProblemBase) || p.Title == "" {
				t.Errorf("problem %+v", p)
			}
		})
	}
	t.Run("lint errors are FILE:LINE", func(t *testing.T) {
		r := e.do("POST", "/v1/policies", "admin", "name: x\nschemes: 7\n")
		p := r.problem(t)
		if len(p.Errors) == 0 || !strings.HasPrefix(p.Errors[0], "policy.yaml:") {
			t.Errorf("lint errors %q", p.Errors)
		}
	})
	t.Run("405 has Allow", func(t *testing.T) {
		r := e.do("GET", "/v1/records", "admin", nil)
		if r.status != 405 || r.header.Get("Allow") != "POST" {
			t.Errorf("status %d, Allow %q", r.status, r.header.Get("Allow"))
		}
	})
	t.Run("streamed oversized batch", func(t *testing.T) {
		// No Content-Length: the limit applies while reading.
		req, _ := http.NewRequest("POST", e.ts.URL+"/v1/records/batch", io.LimitReader(zeros{}, 65<<20))
		req.Header.Set("Authorization", e.auth("court"))
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p credohttp.Problem
		json.NewDecoder(resp.Body).Decode(&p)
		if resp.StatusCode != 413 || p.Type != credohttp.ProblemBase+"too_large" {
			t.Errorf("status %d, problem %+v", resp.StatusCode, p)
		}
	})
	t.Run("batch with bad lines", func(t *testing.T) {
		good := `{"subject":"` + carol + `","rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"bl1","decided_at":"2025-01-01","evidence_sha256":"` + digest("bl1") + `"}`
		conflict := strings.Replace(good, digest("bl1"), digest("other"), 1)
		body := strings.Join([]string{
			good,      // 1 filed
			`{"sub`,   // 2 not JSON
			"",        // 3 blank (skipped)
			good,      // 4 present (identical)
			conflict,  // 5 conflict with line 1
			`{"x":1}`, // 6 unknown field
			strings.Replace(good, "court.test", "utility.water", 1),  // 7 authority of another token
			strings.Replace(good, `"2025-01-01"`, `"2025-01-32"`, 1), // 8 bad date
			strings.Replace(good, `"bl1"`, `"bl9"`, 1),               // 9 filed
		}, "\n")
		r := e.do("POST", "/v1/records/batch", "court", body)
		var res credohttp.BatchResult
		r.decode(t, &res)
		if r.status != 200 || res.Filed != 2 || res.Present != 1 || res.RejectedTotal != 5 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		want := map[int]string{2: "", 5: "", 6: "x", 7: "authority", 8: "decided_at"}
		for _, rj := range res.Rejected {
			f, ok := want[rj.Line]
			if !ok || f != rj.Field || rj.Reason == "" {
				t.Errorf("rejected %+v", rj)
			}
		}
	})
}

// zeros is an endless reader of 'x'.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}
