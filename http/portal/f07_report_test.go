package portal_test

import (
	"html"
	"net/http"
	"strings"
	"testing"

	"credo/policies"
	"credo/policy"
)

// TestF07ReportChinese: the policy simulation report, asked for in
// Chinese, shows the titles of the schemes, lists, sectors and measures
// in Chinese and none of them in English; in English, the reverse.
func TestF07ReportChinese(t *testing.T) {
	e := newEnv(t)
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	var titles []policy.NamedText
	for _, x := range pol.Texts() {
		if strings.HasSuffix(x.What, ": title") && !strings.HasPrefix(x.What, "rule ") && x.Text.For("en") != x.Text.For("zh-CN") {
			titles = append(titles, x)
		}
	}
	for _, lang := range []string{"zh-CN", "en"} {
		other := map[string]string{"zh-CN": "en", "en": "zh-CN"}[lang]
		b := e.signedIn("tok-admin")
		b.lang = lang
		pg := b.postMultipart(t, map[string]string{"policy": simDraft(t), "min_group": "1"}, "", "")
		if pg.status != http.StatusOK || !strings.Contains(pg.body, `<html lang="`+lang+`"`) {
			t.Fatalf("%s report: status %d", lang, pg.status)
		}
		for _, x := range titles {
			if s := html.EscapeString(x.Text.For(other)); strings.Contains(pg.body, "<small>"+s+"</small>") || strings.Contains(pg.body, " — "+s+"</h3>") {
				t.Errorf("the %s report shows %s in %s: %q", lang, x.What, other, x.Text.For(other))
			}
		}
		// What the report must show in lang: the scheme a draft changes
		// and the sector and measure that deny alice.
		for _, what := range []string{"scheme civic: title", "sector aviation: title", "measure flight-ban: title"} {
			for _, x := range titles {
				if x.What == what && !strings.Contains(pg.body, html.EscapeString(x.Text.For(lang))) {
					t.Errorf("the %s report does not show %s in %s (%q)", lang, what, lang, x.Text.For(lang))
				}
			}
		}
	}
}
