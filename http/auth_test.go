package http_test

import (
	"credo"
	"credo/storetest"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	credohttp "credo/http"
)

// The roles of the authorisation matrix: each a token name (or "" for
// none) standing for a role and its binding.
var matrixRoles = []struct {
	name  string // in test names
	token string
}{
	{"admin", "admin"},
	{"authority-own", "court"},
	{"authority-other", "water"},
	{"checker-own", "airline"},
	{"checker-other", "isp"},
	{"subject-self", "alice"},
	{"subject-other", "bob"},
	{"auditor", "auditor"},
	{"public", ""},
	{"revoked", "revoked"},
	{"malformed", "malformed"},
}

// outcome is an expected answer: a status, and for a refusal the problem
// type.
type outcome struct {
	status int
	kind   string // problem type suffix; "" for success
}

var (
	ok200        = outcome{http.StatusOK, ""}
	ok201        = outcome{http.StatusCreated, ""}
	unauthorized = outcome{http.StatusUnauthorized, "unauthorized"}
	forbidden    = outcome{http.StatusForbidden, "forbidden"}
	notFound     = outcome{http.StatusNotFound, "not_found"}
)

func TestAuthorizationMatrix(t *testing.T) {
	// Sealed, so that an erasure (admin only) can be made.
	e := newSealedEnv(t, credohttp.Options{RateLimit: -1, Transparency: withTransparency})
	rec := e.file(alice, "(2024)Matrix-1")
	check := e.check("airline", alice, "aviation")
	n := 0
	unique := func() string { n++; return fmt.Sprintf("(2025)M-%d", n) }

	type endpoint struct {
		method, path string
		body         func() any
		// allowed gives the outcome for roles that are not simply refused;
		// any other role with a valid token is 403, without one 401.
		allowed map[string]outcome
	}
	// fresh gives, for some paths, a fresh path of the same route for each
	// role: for steps that can be taken only once, like a decision.
	fresh := map[string]func() string{
		"/v1/disputes/1/decision": func() string { return "/v1/disputes/" + itoa(e.openDispute(alice, unique()).ID) + "/decision" },
		"/v1/repairs/1/decision":  func() string { return "/v1/repairs/" + itoa(e.applyRepair(alice, unique()).ID) + "/decision" },
		"/v1/subjects/S/erase": func() string {
			s := ric(300 + n)
			e.file(s, unique())
			return "/v1/subjects/" + s + "/erase"
		},
	}
	change := map[string]outcome{"admin": ok200, "authority-own": ok200, "authority-other": forbidden}
	subjectRead := map[string]outcome{"admin": ok200, "subject-self": ok200, "subject-other": forbidden}
	// Due-process lists: every party sees its own (an authority what it
	// decides, a subject its own items), an admin all.
	queueRead := map[string]outcome{"admin": ok200, "authority-own": ok200, "authority-other": ok200, "subject-self": ok200, "subject-other": ok200}
	everyone := map[string]outcome{"admin": ok200, "authority-own": ok200, "authority-other": ok200, "checker-own": ok200,
		"checker-other": ok200, "subject-self": ok200, "subject-other": ok200, "auditor": ok200, "public": ok200}
	ops := map[string]outcome{"admin": ok200, "authority-own": ok200, "authority-other": ok200, "checker-own": ok200,
		"checker-other": ok200, "subject-self": ok200, "subject-other": ok200, "auditor": ok200, "public": ok200,
		"revoked": ok200, "malformed": ok200}
	endpoints := []endpoint{
		{"POST", "/v1/records", func() any { return judgment(carol, unique()) },
			map[string]outcome{"admin": ok201, "authority-own": ok201, "authority-other": forbidden}},
		{"POST", "/v1/records/batch", func() any {
			return `{"subject":"` + carol + `","rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"` + unique() + `","decided_at":"2025-01-01","evidence_sha256":"` + digest("x") + `"}` + "\n"
		}, map[string]outcome{"admin": ok200, "authority-own": ok200, "authority-other": ok200}}, // the other authority's line is rejected
		{"POST", "/v1/links", func() any { return linkBody(ric(200+n), unique()) }, map[string]outcome{"admin": ok201, "authority-own": ok201, "authority-other": forbidden}},
		{"POST", "/v1/links/end", func() any {
			l := linkBody(ric(200+n), unique())
			e.do("POST", "/v1/links", "admin", l)
			delete(l, "from")
			l["until"] = "2022-01-01T00:00:00+08:00"
			return l
		}, map[string]outcome{"admin": ok200, "authority-own": ok200, "authority-other": forbidden}},
		{"POST", "/v1/records/" + itoa(rec.ID) + "/revoke", func() any { return map[string]string{"reason": "test", "at": "2026-01-01"} }, change},
		{"POST", "/v1/records/" + itoa(rec.ID) + "/fulfil", func() any { return map[string]string{"reason": "test"} }, change},
		{"POST", "/v1/records/" + itoa(rec.ID) + "/repair", func() any { return map[string]string{"reason": "test"} }, change},
		{"GET", "/v1/subjects/" + alice, nil, subjectRead},
		{"GET", "/v1/subjects/" + alice + "/history", nil, subjectRead},
		{"GET", "/v1/subjects/" + alice + "/checks", nil, subjectRead},
		{"GET", "/v1/subjects/" + alice + "/notices", nil, subjectRead},
		{"POST", "/v1/subjects/S/erase", func() any { return map[string]string{"reason": "court order", "legal_basis": "PIPL art. 47"} },
			map[string]outcome{"admin": ok201}},
		{"POST", "/v1/consents", func() any { return map[string]any{"scheme": "green", "given": true} },
			map[string]outcome{"subject-self": ok201, "subject-other": ok201}},
		{"POST", "/v1/checks", func() any { return map[string]string{"subject": alice, "sector": "aviation"} },
			map[string]outcome{"admin": ok200, "checker-own": ok200, "checker-other": forbidden}},
		{"POST", "/v1/checks/batch", func() any { return map[string]any{"subjects": []string{alice, bob}, "sector": "aviation"} },
			map[string]outcome{"admin": ok200, "checker-own": ok200, "checker-other": forbidden}},
		{"GET", "/v1/checks/" + check.CheckID, nil, map[string]outcome{"admin": ok200, "subject-self": ok200, "subject-other": notFound}},
		{"POST", "/v1/disputes", func() any {
			return map[string]any{"record_id": e.file(alice, unique()).ID, "grounds": "not mine"}
		}, map[string]outcome{"admin": ok201, "subject-self": ok201, "subject-other": notFound}},
		{"POST", "/v1/disputes/1/decision", func() any { return map[string]string{"outcome": "upheld", "reason": "stands"} }, change},
		{"GET", "/v1/disputes", nil, queueRead},
		{"POST", "/v1/repairs", func() any {
			return map[string]any{"record_id": e.file(alice, unique()).ID, "statement": "paid", "commitment": true}
		}, map[string]outcome{"admin": ok201, "subject-self": ok201, "subject-other": notFound}},
		{"POST", "/v1/repairs/1/decision", func() any { return map[string]string{"outcome": "approved"} }, change},
		{"GET", "/v1/repairs", nil, queueRead},
		{"GET", "/v1/lists/debtors", nil, everyone},
		{"GET", "/v1/policies", nil, everyone},
		{"GET", "/v1/policies/" + e.policy, nil, everyone},
		{"POST", "/v1/policies", func() any {
			src := readFile(t, testPolicy)
			return strings.Replace(src, "name: Test city policy", "name: Test city policy "+unique(), 1)
		}, map[string]outcome{"admin": ok201}},
		{"GET", "/v1/stats", nil, map[string]outcome{"admin": ok200, "auditor": ok200}},
		{"POST", "/v1/simulations", func() any {
			return strings.Replace(readFile(t, testPolicy), "points: {civic: -30}", "points: {civic: -150}", 1)
		}, map[string]outcome{"admin": ok200, "auditor": ok200}},
		{"GET", "/v1/openapi.json", nil, everyone},
		{"GET", "/checkpoint", nil, everyone},
		{"GET", "/v1/log/key", nil, everyone},
		{"GET", "/v1/proofs/inclusion?seq=1&size=1", nil, everyone},
		{"GET", "/v1/proofs/consistency?old=1&new=1", nil, everyone},
		{"GET", "/healthz", nil, ops},
		{"GET", "/readyz", nil, ops},
		{"GET", "/metrics", nil, ops},
	}
	covered := map[string]bool{}
	for _, ep := range endpoints {
		pattern := ep.method + " " + templateOf(strings.SplitN(ep.path, "?", 2)[0])
		covered[pattern] = true
		for _, role := range matrixRoles {
			t.Run(pattern+"/"+role.name, func(t *testing.T) {
				want, ok := ep.allowed[role.name]
				switch {
				case ok:
				case role.name == "public" || role.name == "revoked" || role.name == "malformed":
					want = unauthorized
				default:
					want = forbidden
				}
				var body any
				if ep.body != nil {
					body = ep.body()
				}
				path := ep.path
				if f := fresh[ep.path]; f != nil {
					path = f()
				}
				r := e.do(ep.method, path, role.token, body)
				if r.status != want.status {
					t.Fatalf("status %d, want %d: %s", r.status, want.status, r.body)
				}
				if want.kind != "" {
					p := r.problem(t)
					if p.Type != credohttp.ProblemBase+want.kind {
						t.Errorf("problem type %s, want %s", p.Type, credohttp.ProblemBase+want.kind)
					}
					if p.Detail == "" {
						t.Errorf("problem without detail: %s", r.body)
					}
					if want.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") == "" {
						t.Errorf("401 without WWW-Authenticate")
					}
				}
				switch role.name {
				case "revoked":
					if want.status == http.StatusUnauthorized && !strings.Contains(string(r.body), "revoked") {
						t.Errorf("revocation not explained: %s", r.body)
					}
				case "malformed":
					if want.status == http.StatusUnauthorized && !strings.Contains(string(r.body), "malformed") {
						t.Errorf("malformed header not explained: %s", r.body)
					}
				}
			})
		}
	}
	for _, rt := range e.srv.Routes() {
		if !covered[rt] {
			t.Errorf("route %s is not in the authorisation matrix", rt)
		}
	}
}

// templateOf turns a concrete path into its route template.
func templateOf(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		switch {
		case i == 3 && (segs[2] == "records" || segs[2] == "subjects" || segs[2] == "lists" || segs[2] == "disputes" || segs[2] == "repairs") && s != "batch":
			segs[i] = "{id}"
		case i == 3 && segs[2] == "checks" && s != "batch":
			segs[i] = "{id}"
		case i == 3 && segs[2] == "policies":
			segs[i] = "{hash}"
		}
	}
	return strings.Join(segs, "/")
}

func TestTokens(t *testing.T) {
	e := newEnv(t, credohttp.Options{})
	t.Run("NewTokenSecret", func(t *testing.T) {
		s1, h1 := credo.NewTokenSecret()
		s2, h2 := credo.NewTokenSecret()
		if !strings.HasPrefix(s1, "credo_") || len(s1) != len("credo_")+43 || s1 == s2 || h1 == h2 || h1 != digest(s1) {
			t.Errorf("secrets %q %q hashes %q %q", s1, s2, h1, h2)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		r := e.do("GET", "/v1/policies", "", nil)
		req, _ := http.NewRequest("GET", e.ts.URL+"/v1/policies", nil)
		req.Header.Set("Authorization", "Bearer credo_unknown")
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if r.status != 200 || resp.StatusCode != 401 {
			t.Errorf("public %d, unknown token %d", r.status, resp.StatusCode)
		}
	})
	t.Run("one-time codes are not API tokens", func(t *testing.T) {
		secret, hash := credo.NewTokenSecret()
		tk := credo.Token{ID: "tok-code", Name: credo.OneTimeCodeName, Role: credo.RoleSubject, Subject: alice, Hash: hash, Created: time.Now()}
		if err := e.tokens.CreateToken(t.Context(), &tk); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", e.ts.URL+"/v1/subjects/"+alice, nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("one-time code used as a bearer token: status %d, want 401", resp.StatusCode)
		}
	})
	t.Run("revocation is honoured", func(t *testing.T) {
		if r := e.do("GET", "/v1/stats", "auditor", nil); r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
		if err := e.tokens.RevokeToken(t.Context(), "tok-auditor", time.Now()); err != nil {
			t.Fatal(err)
		}
		// Cached: honoured within the cache TTL, at once when forgotten.
		e.srv.ForgetToken("tok-auditor")
		r := e.do("GET", "/v1/stats", "auditor", nil)
		if r.status != 401 || !strings.Contains(r.problem(t).Detail, "revoked") {
			t.Errorf("revoked token: %d %s", r.status, r.body)
		}
	})
	t.Run("revocation within the cache TTL", func(t *testing.T) {
		e := newEnv(t, credohttp.Options{TokenCacheTTL: 50 * time.Millisecond})
		if r := e.do("GET", "/v1/stats", "auditor", nil); r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
		if err := e.tokens.RevokeToken(t.Context(), "tok-auditor", time.Now()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond)
		if r := e.do("GET", "/v1/stats", "auditor", nil); r.status != 401 {
			t.Errorf("revoked token after the TTL: %d", r.status)
		}
	})
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: 1, RateBurst: 3})
	var last *response
	for range 4 {
		last = e.do("GET", "/v1/policies", "auditor", nil)
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" || last.problem(t).Type != credohttp.ProblemBase+"rate_limited" {
		t.Fatalf("4th request: %d %v %s", last.status, last.header, last.body)
	}
	// Another token has its own bucket.
	if r := e.do("GET", "/v1/policies", "admin", nil); r.status != http.StatusOK {
		t.Errorf("another token: %d", r.status)
	}
}

// linkBody is a link of a person to the test organisation, filed by the
// court (the case reference only makes callers draw a fresh person).
func linkBody(person, _ string) map[string]any {
	return map[string]any{"org": storetest.USCC(9), "person": person, "role": "principal", "authority": "court.test",
		"legal_basis": "Company Law art 10", "from": "2021-01-01T00:00:00+08:00"}
}
