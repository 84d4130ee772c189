package browsertest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestBrowserRendersPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>t</title><h1 id="h">信用 credo</h1>`))
	}))
	defer srv.Close()
	ctx := New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("h")))
	if err != nil {
		t.Fatal(err)
	}
	if text != "信用 credo" {
		t.Fatalf("heading = %q", text)
	}
	p := Screenshot(t, ctx, "browsertest-smoke")
	if st, err := os.Stat(p); err != nil || st.Size() == 0 {
		t.Fatalf("screenshot not written: %v", err)
	}
}

// TestAxe runs the vendored axe-core on a page with known faults and on a
// clean one; both pages forbid scripts, as the portal's do.
func TestAxe(t *testing.T) {
	pages := map[string]string{
		"/bad": `<!doctype html><html><head><title>bad</title></head><body>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<p style="color:#aaaaaa;background:#ffffff">faint text</p>
<input type="text" id="q">
</body></html>`,
		"/good": `<!doctype html><html lang="en"><head><title>good</title></head><body>
<main><h1>Fine</h1><p style="color:#1a1a1a;background:#ffffff">plain text</p>
<label for="q">Query</label><input type="text" id="q"></main>
</body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'none'")
		w.Write([]byte(pages[r.URL.Path]))
	}))
	defer srv.Close()
	ctx := New(t)

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/bad")); err != nil {
		t.Fatal(err)
	}
	res, err := Axe(ctx, WCAG22AA...)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]AxeRule{}
	for _, v := range res.Violations {
		found[v.ID] = v
	}
	for _, id := range []string{"image-alt", "color-contrast", "label", "html-has-lang"} {
		if _, ok := found[id]; !ok {
			t.Errorf("axe did not report %s; it reported %v", id, res.Violations)
		}
	}
	if s := found["label"].String(); !strings.Contains(s, "#q") || !strings.Contains(s, "label (critical)") {
		t.Errorf("the label violation reads:\n%s", s)
	}
	// A best-practice rule (region: content outside landmarks) is not a
	// WCAG criterion: it runs only when no tags are given.
	if _, ok := found["region"]; ok {
		t.Error("a best-practice rule ran under the WCAG tags")
	}
	all, err := Axe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(all.Violations, func(r AxeRule) bool { return r.ID == "region" }) {
		t.Errorf("with every rule, no region violation: %v", all.Violations)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/good")); err != nil {
		t.Fatal(err)
	}
	res, err = Axe(ctx, WCAG22AA...)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Violations) > 0 {
		t.Errorf("a clean page: %v", res.Violations)
	}
	if res.Version != AxeVersion {
		t.Errorf("version %s", res.Version)
	}
}

// TestAxeVendored checks that the vendored script is the version the
// helper names and comes with its licence.
func TestAxeVendored(t *testing.T) {
	if !strings.HasPrefix(axeSource, "/*! axe v"+AxeVersion+"\n") {
		t.Errorf("axe/axe.min.js starts %q, want axe v%s", axeSource[:min(40, len(axeSource))], AxeVersion)
	}
	lic, err := os.ReadFile("axe/LICENSE")
	if err != nil || !strings.Contains(string(lic), "Mozilla Public License") {
		t.Errorf("axe/LICENSE: %v", err)
	}
}
