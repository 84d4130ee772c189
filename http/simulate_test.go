package http_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	credohttp "credo/http"
	"credo/simulate"
)

// The draft: a judgment default costs 150 points (was 30), so a debtor
// falls from A (970) to B (850).
func draftPolicy(t *testing.T) string {
	t.Helper()
	src := readFile(t, testPolicy)
	if !strings.Contains(src, "points: {civic: -30}") {
		t.Fatal("the test policy changed: update the draft")
	}
	return strings.Replace(strings.Replace(src, "points: {civic: -30}", "points: {civic: -150}", 1), "name: Test city policy", "name: Test city policy draft", 1)
}

func TestSimulation(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1})
	e.file(alice, "(2024)Sim-1")
	draft := draftPolicy(t)

	post := func(token, query, contentType, accept, body string) *response {
		t.Helper()
		req, err := http.NewRequest("POST", e.ts.URL+"/v1/simulations"+query, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if a := e.auth(token); a != "" {
			req.Header.Set("Authorization", a)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return &response{status: resp.StatusCode, header: resp.Header, body: b}
	}

	t.Run("admin", func(t *testing.T) {
		r := post("admin", "?min_group=1", "application/yaml", "", draft)
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		var rep simulate.Report
		r.decode(t, &rep)
		if rep.Changed != 1 || len(rep.MostAffected) != 1 || rep.MostAffected[0].Subject != alice || rep.MinGroup != 1 {
			t.Errorf("changed %d, most affected %+v", rep.Changed, rep.MostAffected)
		}
		if rep.Current.Hash != e.policy {
			t.Errorf("current policy %s, want %s", rep.Current.Hash, e.policy)
		}
		var civic *simulate.SchemeShift
		for i := range rep.Schemes {
			if rep.Schemes[i].Scheme == "civic" {
				civic = &rep.Schemes[i]
			}
		}
		if civic == nil || civic.Down != 1 || len(civic.Transitions) != 1 || civic.Transitions[0] != (simulate.Transition{From: "A", To: "B", Count: 1}) {
			t.Errorf("civic = %+v", civic)
		}
	})
	t.Run("auditor sees no subject", func(t *testing.T) {
		for _, accept := range []string{"application/json", "text/html"} {
			r := post("auditor", "", "application/yaml", accept, draft)
			if r.status != 200 {
				t.Fatalf("%s: status %d: %s", accept, r.status, r.body)
			}
			if strings.Contains(string(r.body), alice) || strings.Contains(string(r.body), "most_affected") {
				t.Errorf("%s: the auditor's report names a subject", accept)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, accept) {
				t.Errorf("Content-Type %q for Accept %s", ct, accept)
			}
		}
	})
	t.Run("html in Chinese", func(t *testing.T) {
		r := post("admin", "?lang=zh", "", "text/html,application/xhtml+xml;q=0.9", draft)
		if r.status != 200 || !strings.Contains(string(r.body), "政策影响模拟") || !strings.Contains(string(r.body), "<svg") {
			t.Errorf("status %d, %.200s", r.status, r.body)
		}
	})
	for _, tc := range []struct {
		name, token, query, contentType, body string
		status                                int
		field                                 string
	}{
		{"checker may not", "airline", "", "application/yaml", draft, 403, ""},
		{"subject may not", "alice", "", "application/yaml", draft, 403, ""},
		{"no token", "", "", "application/yaml", draft, 401, "Authorization"},
		{"json body", "admin", "", "application/json", `{"name":"x"}`, 415, "Content-Type"},
		{"empty", "admin", "", "application/yaml", "  \n", 400, ""},
		{"lint errors", "admin", "", "application/yaml", strings.Replace(draft, "lifetime: 5y", "lifetime: forever", 1), 400, ""},
		{"bad at", "admin", "?at=yesterday", "application/yaml", draft, 400, "at"},
		{"bad threshold", "admin", "?threshold=2", "application/yaml", draft, 400, "threshold"},
		{"bad min_group", "admin", "?min_group=0", "application/yaml", draft, 400, "min_group"},
		{"bad lang", "admin", "?lang=fr", "application/yaml", draft, 400, "lang"},
		{"unknown parameter", "admin", "?top=3", "application/yaml", draft, 400, "top"},
		{"no policy then", "admin", "?at=2019-01-01", "application/yaml", draft, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(tc.token, tc.query, tc.contentType, "", tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			var p credohttp.Problem
			if err := json.Unmarshal(r.body, &p); err != nil || r.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("not a problem: %s %s", r.header.Get("Content-Type"), r.body)
			}
			if p.Field != tc.field {
				t.Errorf("field %q, want %q (%s)", p.Field, tc.field, p.Detail)
			}
			if tc.name == "lint errors" && (len(p.Errors) == 0 || !strings.Contains(p.Errors[0], "draft.yaml:")) {
				t.Errorf("lint errors = %v", p.Errors)
			}
		})
	}
}

// TestG11SimulationRefusedWhileShuttingDown: once the server begins to
// shut down, no simulation starts (and one running stops: the simulation
// context ends, which simulate.Run looks at before every subject —
// TestG11SimulationStopsPromptly in package simulate).
func TestG11SimulationRefusedWhileShuttingDown(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1})
	e.file(alice, "(2024)Sim-9")
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", e.ts.URL+"/v1/simulations", strings.NewReader(draftPolicy(t)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", e.auth("admin"))
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "shutting down") {
		t.Errorf("status %d: %s", resp.StatusCode, b)
	}
}
