package http_test

import (
	"credo/storetest"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	credohttp "credo/http"
)

type openAPI struct {
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	Responses map[string]struct {
		Content map[string]struct {
			Schema map[string]any `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

func loadOpenAPI(t *testing.T, e *env) *openAPI {
	t.Helper()
	r := e.do("GET", "/v1/openapi.json", "", nil)
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("openapi.json: %d %s", r.status, r.header.Get("Content-Type"))
	}
	var doc openAPI
	r.decode(t, &doc)
	var head struct {
		OpenAPI string `json:"openapi"`
	}
	r.decode(t, &head)
	if head.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", head.OpenAPI)
	}
	return &doc
}

// TestOpenAPIRoutes holds the document and the mux together: every route
// is documented with its method, and every documented operation is served.
func TestOpenAPIRoutes(t *testing.T) {
	e := newEnv(t, credohttp.Options{})
	doc := loadOpenAPI(t, e)
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	routes := e.srv.Routes()
	slices.Sort(documented)
	slices.Sort(routes)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in the OpenAPI document", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("the OpenAPI document has %s, which is not served", d)
		}
	}
}

// TestOpenAPIResponses calls every documented operation and checks each
// JSON response against its documented schema: required properties are
// present, types match, closed objects have no other properties.
func TestOpenAPIResponses(t *testing.T) {
	e := newSealedEnv(t, credohttp.Options{RateLimit: -1, Transparency: withTransparency})
	doc := loadOpenAPI(t, e)
	r1 := e.file(alice, "(2024)Doc-1")
	r2 := e.file(alice, "(2024)Doc-2")
	r3 := e.file(alice, "(2024)Doc-3")
	r4 := e.file(alice, "(2024)Doc-6")
	r5 := e.file(alice, "(2024)Doc-7")
	dsp := e.openDispute(alice, "(2024)Doc-8")
	rep := e.applyRepair(alice, "(2024)Doc-9")
	chk := e.check("airline", alice, "aviation")
	batchLine := `{"subject":"` + bob + `","rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"d1","decided_at":"2025-01-01","evidence_sha256":"` + digest("d1") + `"}` + "\n" + `{"x":1}` + "\n"
	newPolicy := strings.Replace(readFile(t, testPolicy), "name: Test city policy", "name: Test city policy v2", 1)
	calls := []struct {
		method, path, token string
		body                any
	}{
		{"POST", "/v1/records", "court", judgment(bob, "(2025)Doc-4")},
		{"POST", "/v1/records", "court", judgment(bob, "(2025)Doc-4")},
		{"POST", "/v1/records", "court", map[string]any{"subject": 1}},
		{"POST", "/v1/records", "", judgment(bob, "(2025)Doc-5")},
		{"POST", "/v1/records/batch", "court", batchLine},
		{"POST", "/v1/records/" + itoa(r1.ID) + "/revoke", "court", map[string]any{"reason": "error", "void": true}},
		{"POST", "/v1/records/" + itoa(r2.ID) + "/fulfil", "court", map[string]any{"reason": "paid"}},
		{"POST", "/v1/records/" + itoa(r3.ID) + "/repair", "court", map[string]any{"reason": "repaired"}},
		{"POST", "/v1/records/" + itoa(r3.ID) + "/repair", "court", map[string]any{"reason": "too early", "at": "2025-02-01"}},
		{"POST", "/v1/links", "court", map[string]any{"org": storetest.USCC(7), "person": carol, "role": "principal", "legal_basis": "Company Law art 10", "from": "2021-01-01T00:00:00+08:00"}},
		{"POST", "/v1/links", "court", map[string]any{"org": storetest.USCC(7), "person": carol, "role": "principal", "legal_basis": "Company Law art 10", "from": "2021-01-01T00:00:00+08:00"}},
		{"POST", "/v1/links", "court", map[string]any{"org": storetest.USCC(7), "person": carol, "role": "principal", "legal_basis": "Company Law art 10", "from": "2021-02-01T00:00:00+08:00"}},
		{"POST", "/v1/links/end", "court", map[string]any{"org": storetest.USCC(7), "person": carol, "role": "principal", "legal_basis": "Company Law art 10", "until": "2022-01-01T00:00:00+08:00"}},
		{"POST", "/v1/links/end", "court", map[string]any{"org": storetest.USCC(7), "person": carol, "role": "principal", "legal_basis": "Company Law art 10", "until": "2022-01-01T00:00:00+08:00"}},
		{"GET", "/v1/subjects/" + alice, "alice", nil},
		{"GET", "/v1/subjects/" + alice + "/history", "alice", nil},
		{"GET", "/v1/subjects/" + alice + "/checks", "alice", nil},
		{"GET", "/v1/subjects/" + alice + "/notices", "alice", nil},
		{"POST", "/v1/consents", "alice", map[string]any{"scheme": "green", "given": true}},
		{"POST", "/v1/consents", "alice", map[string]any{"scheme": "green", "given": true}},
		{"POST", "/v1/checks", "airline", map[string]string{"subject": bob, "sector": "aviation"}},
		{"POST", "/v1/checks/batch", "airline", map[string]any{"sector": "aviation", "subjects": []string{alice, "bad", bob}}},
		{"GET", "/v1/checks/" + chk.CheckID, "alice", nil},
		{"POST", "/v1/disputes", "alice", map[string]any{"record_id": r4.ID, "grounds": "not mine"}},
		{"POST", "/v1/disputes", "alice", map[string]any{"record_id": r4.ID, "grounds": "not mine"}},
		{"POST", "/v1/disputes/" + itoa(dsp.ID) + "/decision", "court", map[string]any{"outcome": "upheld", "reason": "stands"}},
		{"GET", "/v1/disputes?state=all", "court", nil},
		{"POST", "/v1/repairs", "alice", map[string]any{"record_id": r5.ID, "statement": "paid", "commitment": true}},
		{"POST", "/v1/repairs/" + itoa(rep.ID) + "/decision", "court", map[string]any{"outcome": "approved"}},
		{"GET", "/v1/repairs?state=all", "alice", nil},
		{"GET", "/v1/lists/debtors", "", nil},
		{"GET", "/v1/lists/low-credit", "", nil},
		{"GET", "/v1/policies", "", nil},
		{"GET", "/v1/policies/" + e.policy, "", nil},
		{"POST", "/v1/policies?effective=2030-01-01", "admin", newPolicy},
		{"GET", "/v1/stats", "auditor", nil},
		{"POST", "/v1/simulations", "admin", strings.Replace(newPolicy, "points: {civic: -30}", "points: {civic: -150}", 1)},
		{"GET", "/v1/openapi.json", "", nil},
		{"GET", "/checkpoint", "", nil},
		{"GET", "/v1/log/key", "", nil},
		{"GET", "/v1/proofs/inclusion?seq=1&size=2", "", nil},
		{"GET", "/v1/proofs/inclusion?seq=3&size=2", "", nil},
		{"GET", "/v1/proofs/consistency?old=1&new=2", "", nil},
		{"POST", "/v1/subjects/" + carol + "/erase", "admin", map[string]any{"reason": "court order", "legal_basis": "PIPL art. 47"}},
		{"POST", "/v1/subjects/" + carol + "/erase", "admin", map[string]any{"reason": "court order", "legal_basis": "PIPL art. 47"}},
		{"POST", "/v1/subjects/" + carol + "/erase", "admin", map[string]any{"reason": "court order"}},
		{"GET", "/healthz", "", nil},
		{"GET", "/readyz", "", nil},
		{"GET", "/metrics", "", nil},
	}
	covered := map[string]bool{}
	e.publicList("/v1/lists/debtors") // the census behind the public lists is built in the background
	for _, c := range calls {
		r := e.do(c.method, c.path, c.token, c.body)
		tmpl := strings.SplitN(templateOf(c.path), "?", 2)[0]
		op, ok := doc.Paths[tmpl][strings.ToLower(c.method)]
		if !ok {
			t.Errorf("%s %s: not documented", c.method, tmpl)
			continue
		}
		status := fmt.Sprint(r.status)
		resp, ok := op.Responses[status]
		if !ok {
			t.Errorf("%s %s: status %d is not documented: %s", c.method, tmpl, r.status, r.body)
			continue
		}
		covered[c.method+" "+tmpl+" "+status] = true
		ct := strings.SplitN(r.header.Get("Content-Type"), ";", 2)[0]
		media, ok := resp.Content[ct]
		if !ok {
			t.Errorf("%s %s %d: Content-Type %q is not documented", c.method, tmpl, r.status, ct)
			continue
		}
		if ct != "application/json" && ct != "application/problem+json" {
			continue
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Errorf("%s %s: %v", c.method, tmpl, err)
			continue
		}
		for _, p := range conform(doc, media.Schema, v, "$") {
			t.Errorf("%s %s %d: %s", c.method, tmpl, r.status, p)
		}
	}
	// Every documented success response was seen.
	for path, ops := range doc.Paths {
		for method, op := range ops {
			for status := range op.Responses {
				if status[0] == '2' && !covered[strings.ToUpper(method)+" "+path+" "+status] {
					t.Errorf("documented response %s %s %s was not exercised", strings.ToUpper(method), path, status)
				}
			}
		}
	}
}

// conform checks a JSON value against a schema (the subset the document
// uses: $ref, type, properties, required, items, additionalProperties).
func conform(doc *openAPI, schema map[string]any, v any, at string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		return conform(doc, doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")], v, at)
	}
	var probs []string
	typ, _ := schema["type"].(string)
	switch typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an object", at, v)}
		}
		for _, r := range asStrings(schema["required"]) {
			if _, ok := m[r]; !ok {
				probs = append(probs, fmt.Sprintf("%s: required property %q missing", at, r))
			}
		}
		props, _ := schema["properties"].(map[string]any)
		for k, pv := range m {
			ps, ok := props[k].(map[string]any)
			switch {
			case ok:
				probs = append(probs, conform(doc, ps, pv, at+"."+k)...)
			case schema["additionalProperties"] == false:
				probs = append(probs, fmt.Sprintf("%s: property %q not in the schema", at, k))
			default:
				if ap, ok := schema["additionalProperties"].(map[string]any); ok {
					probs = append(probs, conform(doc, ap, pv, at+"."+k)...)
				} else if props != nil {
					probs = append(probs, fmt.Sprintf("%s: undocumented property %q", at, k))
				}
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an array", at, v)}
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, x := range a {
				probs = append(probs, conform(doc, items, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case "string":
		if _, ok := v.(string); !ok {
			probs = append(probs, fmt.Sprintf("%s: %T, want a string", at, v))
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			probs = append(probs, fmt.Sprintf("%s: %v, want an integer", at, v))
		}
	case "number":
		if _, ok := v.(float64); !ok {
			probs = append(probs, fmt.Sprintf("%s: %T, want a number", at, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			probs = append(probs, fmt.Sprintf("%s: %T, want a boolean", at, v))
		}
	}
	return probs
}

func asStrings(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, x := range a {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
