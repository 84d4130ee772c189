package portal_test

import (
	"encoding/json"
	"html"
	"net/http"
	"strings"
	"testing"

	credohttp "credo/http"
	"credo/policies"
	"credo/policy"
)

// TestF07ChinesePagesHaveNoEnglishPolicyText renders the portal's pages
// in zh-CN for subjects with listings, measures, records and notices (and
// for a clerk, the public and an operator) and asserts that no text from
// the demo policy is shown in English: every name, title, tier meaning,
// legal basis and contest text on them is the zh-CN one. The same pages in
// English show the English texts (the test can tell them apart).
func TestF07ChinesePagesHaveNoEnglishPolicyText(t *testing.T) {
	e := newEnv(t)
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	texts := pol.Texts()
	if len(texts) < 150 {
		t.Fatalf("the demo policy has %d texts; want its names, titles and legal bases", len(texts))
	}
	for _, x := range texts {
		if !x.Text.Has("zh-CN", "en") {
			t.Errorf("%s has no zh-CN text", x.What)
		}
	}
	pages := map[string][]string{
		"tok-alice":    {"/me", "/public?list=dishonest-debtors&q=", "/public?list=serious-illegal-dishonest&q="},
		"tok-chaoyang": {"/clerk", "/clerk/file"},
		"tok-admin":    {"/dashboard"},
	}
	for _, lang := range []string{"zh-CN", "en"} {
		seen := map[string]bool{} // the texts found on some page, in lang
		for tok, paths := range pages {
			b := e.signedIn(tok)
			b.lang = lang
			for _, path := range paths {
				pg := b.get(path)
				if pg.status != http.StatusOK {
					t.Fatalf("%s %s as %s: status %d", lang, path, tok, pg.status)
				}
				for _, x := range texts {
					en, zh := html.EscapeString(x.Text.For("en")), html.EscapeString(x.Text.For("zh-CN"))
					switch {
					case lang == "zh-CN" && strings.Contains(pg.body, en):
						t.Errorf("zh-CN %s as %s shows %s in English: %q", path, tok, x.What, x.Text.For("en"))
					case lang == "zh-CN" && strings.Contains(pg.body, zh):
						seen[x.What] = true
					case lang == "en" && strings.Contains(pg.body, en):
						seen[x.What] = true
					}
				}
			}
		}
		// What the pages must show, in the language asked for: the list,
		// the rule, the court, the measures, their legal bases, how to
		// contest, the scheme and its tiers' meanings.
		for _, what := range []string{
			"list dishonest-debtors: title", "list dishonest-debtors: legal_basis", "list dishonest-debtors: contest",
			"rule JUDGMENT_DEFAULT_ABILITY: title", "rule JUDGMENT_DEFAULT_ABILITY: legal_basis",
			"authority court.beijing.chaoyang: name", "measure flight-ban: title", "measure flight-ban: legal_basis",
			"sector aviation: title", "scheme civic: title", "scheme civic: tier A: meaning",
		} {
			if !seen[what] {
				t.Errorf("%s pages do not show %s in %s", lang, what, lang)
			}
		}
	}
}

// TestF07CheckAnswerLanguage: a check's reasons carry the policy's texts
// in the language negotiated from Accept-Language, q-weights honoured.
func TestF07CheckAnswerLanguage(t *testing.T) {
	e := newEnv(t)
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	fb := pol.Measure("flight-ban")
	contest := pol.List("dishonest-debtors").Contest
	for _, tc := range []struct{ accept, want string }{
		{"", "en"},
		{"zh-CN", "zh-CN"},
		{"zh", "zh-CN"},
		{"en;q=0.5, zh-CN;q=0.9", "zh-CN"},
		{"zh-CN;q=0.2, en", "en"},
		{"fr, de;q=0.5", "en"},
	} {
		req, _ := http.NewRequest("POST", e.ts.URL+"/v1/checks", strings.NewReader(`{"subject":"`+alice+`","sector":"aviation"}`))
		req.Header.Set("Authorization", "Bearer "+e.secret["tok-airline"])
		if tc.accept != "" {
			req.Header.Set("Accept-Language", tc.accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var res credohttp.CheckResult
		err = json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%q: status %d, %v", tc.accept, resp.StatusCode, err)
		}
		if res.Decision != "deny" || len(res.Reasons) != 1 {
			t.Fatalf("%q: %s with %d reasons, want a deny with one", tc.accept, res.Decision, len(res.Reasons))
		}
		r := res.Reasons[0]
		if r.LegalBasis != fb.LegalBasis.For(tc.want) || r.Contest != contest.For(tc.want) || res.Contest != contest.For(tc.want) {
			t.Errorf("Accept-Language %q: legal basis %q, contest %q; want the %s texts", tc.accept, r.LegalBasis, r.Contest, tc.want)
		}
		if got := resp.Header.Get("Content-Language"); got != tc.want {
			t.Errorf("Accept-Language %q: Content-Language %q, want %q", tc.accept, got, tc.want)
		}
	}
}
