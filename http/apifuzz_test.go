package http_test

// An API fuzzer driven by the served OpenAPI document, in the manner of
// Schemathesis (which cannot be installed here): for every documented
// operation and every role's token (and none, a malformed and a revoked
// one) it sends requests built from the operation's parameters and request
// body schema — mostly plausible values, some mutated (a required field
// dropped, a wrong type, an unknown field, hostile strings) — and checks
// that the server never answers 5xx, that every status is documented for
// the operation, that the Content-Type is the documented one, and that
// every JSON body conforms to its documented schema.
//
// CREDO_APIFUZZ_ROUNDS sets the requests per operation and token (default
// 4; `make fuzz-api` runs more), CREDO_APIFUZZ_SEED the random seed.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	credohttp "credo/http"
)

// fuzzDoc is the part of the OpenAPI document the fuzzer reads beyond what
// openAPI (openapi_test.go) holds.
type fuzzDoc struct {
	Paths map[string]map[string]struct {
		Parameters []struct {
			Name     string         `json:"name"`
			In       string         `json:"in"`
			Required bool           `json:"required"`
			Schema   map[string]any `json:"schema"`
		} `json:"parameters"`
		RequestBody struct {
			Content map[string]struct {
				Schema map[string]any `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

// fuzzer builds values for one run.
type fuzzer struct {
	rnd  *rand.Rand
	doc  *fuzzDoc
	pool map[string][]string // plausible values by property or parameter name
}

// hostile strings every string field gets now and then.
var hostile = []string{
	"", " ", "0", "-1", "9999999999999999999999", "1e309", "null", "true",
	"../../etc/passwd", "%2e%2e%2f", "a\x00b", "\u202e\u0000", "' OR 1=1 --",
	"<script>alert(1)</script>", "１１０１０５１９８００１０１００１１", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
	strings.Repeat("A", 5000), "2025-13-45", "0001-01-01", "9999-12-31T23:59:59Z",
	"\\\\evil.example/x", "//evil.example", "\r\nX-Injected: 1",
}

func (f *fuzzer) pick(xs []string) string { return xs[f.rnd.IntN(len(xs))] }

// str is a string for a property or parameter called name.
func (f *fuzzer) str(name string, schema map[string]any) string {
	if enum := asStrings(schema["enum"]); len(enum) > 0 && f.rnd.IntN(5) > 0 {
		return f.pick(enum)
	}
	if p := f.pool[name]; len(p) > 0 && f.rnd.IntN(4) > 0 {
		return f.pick(p)
	}
	switch schema["format"] {
	case "date":
		return fmt.Sprintf("20%02d-%02d-%02d", 10+f.rnd.IntN(25), 1+f.rnd.IntN(12), 1+f.rnd.IntN(28))
	case "date-time":
		return fmt.Sprintf("20%02d-%02d-%02dT%02d:00:00Z", 10+f.rnd.IntN(25), 1+f.rnd.IntN(12), 1+f.rnd.IntN(28), f.rnd.IntN(24))
	}
	if f.rnd.IntN(3) == 0 {
		return f.pick(hostile)
	}
	return fmt.Sprintf("fuzz-%d", f.rnd.IntN(1000))
}

// value builds a JSON value for schema; mutate allows deviations from it.
func (f *fuzzer) value(name string, schema map[string]any, depth int, mutate bool) any {
	if ref, ok := schema["$ref"].(string); ok {
		schema = f.doc.Components.Schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
	}
	if mutate && f.rnd.IntN(12) == 0 {
		// A value of the wrong type.
		return []any{nil, 1.5, -7, "x", true, []any{}, map[string]any{}}[f.rnd.IntN(7)]
	}
	typ, _ := schema["type"].(string)
	if alts, ok := schema["type"].([]any); ok && len(alts) > 0 {
		typ, _ = alts[f.rnd.IntN(len(alts))].(string)
	}
	switch typ {
	case "object":
		m := map[string]any{}
		if depth > 4 {
			return m
		}
		props, _ := schema["properties"].(map[string]any)
		required := asStrings(schema["required"])
		names := make([]string, 0, len(props))
		for k := range props {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			req := false
			for _, r := range required {
				req = req || r == k
			}
			if !req && f.rnd.IntN(2) == 0 {
				continue
			}
			if req && mutate && f.rnd.IntN(10) == 0 {
				continue // a required property dropped
			}
			ps, _ := props[k].(map[string]any)
			m[k] = f.value(k, ps, depth+1, mutate)
		}
		if mutate && f.rnd.IntN(10) == 0 {
			m["unknown_field"] = "x"
		}
		return m
	case "array":
		items, _ := schema["items"].(map[string]any)
		n := f.rnd.IntN(4)
		a := make([]any, n)
		for i := range a {
			a[i] = f.value(name, items, depth+1, mutate)
		}
		return a
	case "integer":
		if p := f.pool[name]; len(p) > 0 && f.rnd.IntN(3) > 0 {
			n, _ := strconv.ParseInt(f.pick(p), 10, 64)
			return n
		}
		return []int64{0, 1, -1, 2, 100, 1 << 40, -(1 << 62)}[f.rnd.IntN(7)]
	case "number":
		return []float64{0, 0.5, -3, 1e300, 2}[f.rnd.IntN(5)]
	case "boolean":
		return f.rnd.IntN(2) == 0
	case "string":
		return f.str(name, schema)
	}
	return f.str(name, schema)
}

// body builds a request body for a media type and schema.
func (f *fuzzer) body(media string, schema map[string]any, policy string) string {
	switch media {
	case "application/json":
		if f.rnd.IntN(15) == 0 {
			return []string{"", "{", "[]", "null", `{"a":` + strings.Repeat("[", 200), "\xff\xfe"}[f.rnd.IntN(6)]
		}
		b, _ := json.Marshal(f.value("", schema, 0, f.rnd.IntN(3) == 0))
		return string(b)
	case "application/x-ndjson":
		var lines []string
		for range 1 + f.rnd.IntN(4) {
			b, _ := json.Marshal(f.value("", f.doc.Components.Schemas["RecordRequest"], 0, f.rnd.IntN(2) == 0))
			lines = append(lines, string(b))
		}
		if f.rnd.IntN(4) == 0 {
			lines = append(lines, f.pick(hostile))
		}
		return strings.Join(lines, "\n") + "\n"
	case "text/csv":
		return "subject,rule,authority,case_ref,decided_at,evidence_sha256\n" +
			f.pick(f.pool["subject"]) + "," + f.pick(f.pool["rule"]) + ",court.test," + f.str("case_ref", nil) + "," + f.str("decided_at", map[string]any{"format": "date"}) + "," + digest("x") + "\n" +
			f.pick(hostile) + "\n"
	case "application/yaml":
		switch f.rnd.IntN(4) {
		case 0:
			return f.pick(hostile)
		case 1:
			return "name: [unclosed"
		default:
			// The policy with one number changed: usually valid.
			return strings.Replace(policy, "points: {civic: -30}", fmt.Sprintf("points: {civic: %d}", -f.rnd.IntN(200)), 1)
		}
	}
	return f.pick(hostile)
}

// TestAPIFuzz runs the fuzzer over every documented operation with every
// role's token.
func TestAPIFuzz(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1})
	// A registry with something in it, so that ids name real things.
	r1 := e.file(alice, "(2024)Fuzz-1")
	r2 := e.file(bob, "(2024)Fuzz-2")
	r3 := e.file(alice, "(2024)Fuzz-3")
	dsp := e.openDispute(alice, "(2024)Fuzz-4")
	rep := e.applyRepair(alice, "(2024)Fuzz-5")
	chk := e.check("airline", alice, "aviation")
	policy := readFile(t, testPolicy)

	raw := e.do("GET", "/v1/openapi.json", "", nil)
	var doc fuzzDoc
	raw.decode(t, &doc)
	full := loadOpenAPI(t, e)

	rounds := 4
	if s := os.Getenv("CREDO_APIFUZZ_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CREDO_APIFUZZ_ROUNDS=%q: want a positive integer", s)
		}
		rounds = n
	}
	seed := uint64(1)
	if s := os.Getenv("CREDO_APIFUZZ_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CREDO_APIFUZZ_SEED=%q: want an unsigned integer", s)
		}
		seed = n
	}
	t.Logf("seed %d, %d rounds", seed, rounds)
	ids := []string{itoa(r1.ID), itoa(r2.ID), itoa(r3.ID), itoa(dsp.ID), itoa(rep.ID), "0", "-1", "99999999", "abc"}
	f := &fuzzer{rnd: rand.New(rand.NewPCG(seed, 7)), doc: &doc, pool: map[string][]string{
		"subject":         {alice, bob, carol, ric(999), "91110000600037341L", "11010519800101001X", "bad"},
		"subjects":        {alice, bob, "bad"},
		"sector":          {"aviation", "rail", "internet", "nosuch"},
		"rule":            {"JUDGMENT_DEFAULT", "TAX_ARREARS", "NOSUCH"},
		"authority":       {"court.test", "utility.water", "nosuch"},
		"record_id":       ids[:3],
		"scheme":          {"green", "nosuch"},
		"outcome":         {"upheld", "corrected", "revoked", "approved", "rejected", "nosuch"},
		"state":           {"open", "decided", "overdue", "all", "nosuch"},
		"decided_at":      {"2025-01-01", "2024-06-30", "1900-01-01", "2999-01-01"},
		"case_ref":        {"(2025)Fuzz-9", "(2025)Fuzz-10"},
		"evidence_sha256": {digest("a"), "00", strings.Repeat("z", 64)},
		"limit":           {"1", "10", "0", "-5", "100000"},
		"lang":            {"en", "zh-CN", "xx"},
		"q":               {alice, "110105", "张"},
		"at":              {"2025-06-01", "2025-06-01T12:00:00Z", "yesterday"},
		"known":           {"2025-06-01", "2000-01-01"},
		"from":            {"2024-01-01", "2025-01-01"},
		"to":              {"2026-01-01", "2024-01-01"},
		"effective":       {"2030-01-01", "2000-01-01"},
		"threshold":       {"0.1", "-1", "abc"},
		"min_group":       {"1", "5", "0"},
	}}
	tokens := []string{"", "admin", "court", "water", "airline", "isp", "alice", "bob", "auditor", "revoked", "malformed"}

	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	requests, statuses := 0, map[string]int{}
	for _, tmpl := range paths {
		methods := make([]string, 0, len(doc.Paths[tmpl]))
		for m := range doc.Paths[tmpl] {
			methods = append(methods, m)
		}
		sort.Strings(methods)
		for _, method := range methods {
			op := doc.Paths[tmpl][method]
			fullOp := full.Paths[tmpl][method]
			n := rounds
			if tmpl == "/v1/simulations" {
				n = 1 // each is a full simulation; one per token is enough
			}
			for _, tok := range tokens {
				for range n {
					path := tmpl
					q := url.Values{}
					for _, p := range op.Parameters {
						var v string
						if p.Schema["type"] == "integer" || p.Schema["type"] == "number" {
							if pool := f.pool[p.Name]; len(pool) > 0 {
								v = f.pick(pool)
							} else {
								v = fmt.Sprint(f.value(p.Name, p.Schema, 0, true))
							}
						} else {
							v = f.str(p.Name, p.Schema)
						}
						switch p.In {
						case "path":
							pool := ids
							switch {
							case strings.HasPrefix(tmpl, "/v1/subjects/"):
								pool = f.pool["subject"]
							case strings.HasPrefix(tmpl, "/v1/checks/"):
								pool = []string{chk.CheckID, "0", "nosuch", chk.CheckID + "0"}
							case strings.HasPrefix(tmpl, "/v1/lists/"):
								pool = []string{"debtors", "low-credit", "nosuch"}
							case strings.HasPrefix(tmpl, "/v1/policies/"):
								pool = []string{e.policy, "0000", "nosuch"}
							}
							if f.rnd.IntN(5) > 0 || strings.TrimSpace(v) == "" {
								v = f.pick(pool) // a path parameter is never empty
							}
							path = strings.Replace(path, "{"+p.Name+"}", url.PathEscape(v), 1)
						case "query":
							if p.Required || f.rnd.IntN(2) == 0 {
								q.Set(p.Name, v)
							}
						}
					}
					if f.rnd.IntN(20) == 0 {
						q.Set("unknown_param", "1")
					}
					if len(q) > 0 {
						path += "?" + q.Encode()
					}
					var body any
					media := ""
					if len(op.RequestBody.Content) > 0 {
						medias := make([]string, 0, len(op.RequestBody.Content))
						for m := range op.RequestBody.Content {
							medias = append(medias, m)
						}
						sort.Strings(medias)
						media = f.pick(medias)
						body = f.body(media, op.RequestBody.Content[media].Schema, policy)
						if f.rnd.IntN(15) == 0 {
							media = f.pick([]string{"text/plain", "application/xml", "multipart/form-data; boundary=x", ""})
						}
					}
					r := e.doType(strings.ToUpper(method), path, tok, media, body)
					requests++
					status := fmt.Sprint(r.status)
					statuses[status]++
					where := fmt.Sprintf("%s %s (token %q, body %.200q)", strings.ToUpper(method), path, tok, body)
					if r.status >= 500 && r.status != 503 && r.status != 502 {
						t.Errorf("%s: %d: %.300s", where, r.status, r.body)
						continue
					}
					resp, ok := fullOp.Responses[status]
					if !ok {
						resp, ok = fullOp.Responses[status[:1]+"XX"]
					}
					if !ok {
						t.Errorf("%s: status %d is not documented: %.300s", where, r.status, r.body)
						continue
					}
					ct := strings.SplitN(r.header.Get("Content-Type"), ";", 2)[0]
					mediaDoc, ok := resp.Content[ct]
					if !ok && len(resp.Content) > 0 {
						t.Errorf("%s: %d with Content-Type %q, documented %v", where, r.status, ct, keys(resp.Content))
						continue
					}
					if ct != "application/json" && ct != "application/problem+json" {
						continue
					}
					var v any
					if err := json.Unmarshal(r.body, &v); err != nil {
						t.Errorf("%s: %d: body is not JSON: %v", where, r.status, err)
						continue
					}
					for _, p := range conform(full, mediaDoc.Schema, v, "$") {
						t.Errorf("%s: %d: %s", where, r.status, p)
					}
				}
			}
		}
	}
	t.Logf("%d requests; statuses %v", requests, statuses)
	if statuses["200"]+statuses["201"] == 0 || statuses["400"] == 0 || statuses["401"] == 0 || statuses["403"] == 0 {
		t.Errorf("the fuzzer did not reach success and each kind of refusal: %v", statuses)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
