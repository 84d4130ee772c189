package portal_test

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestAccessibility checks every page, signed in as the role that sees it,
// in both languages: the language attribute, one h1, a skip link, a label
// for every visible form control, scoped table headers, scrolling tables
// a keyboard can reach, and SVG charts with a role, a title and a label.
// TestF09AxeCore runs axe-core over the rendered pages; these checks back
// it and hold what its WCAG rules do not: one h1 (a best practice to axe),
// a scope on every header, a title in every chart, and a scrolling table
// reachable even at widths where it does not scroll yet.
func TestAccessibility(t *testing.T) {
	e := newEnv(t)
	e.checkAPI(alice, "aviation")
	pages := map[string][]string{
		"":             {"/", "/signin", "/public", "/public?list=dishonest-debtors&q=", "/nope"},
		"tok-alice":    {"/me", fmt.Sprintf("/me/object?record=%d", e.aliceJudgment), fmt.Sprintf("/me/repair?record=%d", e.aliceUtility)},
		"tok-chaoyang": {"/clerk", "/clerk/file"},
		"tok-admin":    {"/dashboard", "/dashboard/simulate"},
		"tok-auditor":  {"/dashboard/simulate"},
	}
	reLang := regexp.MustCompile(`<html lang="(en|zh-CN)">`)
	reControl := regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	reID := regexp.MustCompile(`\bid="([^"]+)"`)
	reTH := regexp.MustCompile(`<th\b[^>]*>`)
	reSVG := regexp.MustCompile(`<svg\b[^>]*>`)
	reScroll := regexp.MustCompile(`<div class="scroll"[^>]*>`)
	for tok, paths := range pages {
		for _, lang := range []string{"en", "zh-CN"} {
			b := e.visitor()
			if tok != "" {
				b = e.signedIn(tok)
			}
			b.lang = lang
			for _, path := range paths {
				pg := b.get(path)
				name := fmt.Sprintf("%s %s as %q", lang, path, tok)
				if m := reLang.FindStringSubmatch(pg.body); m == nil || m[1] != lang {
					t.Errorf("%s: html lang %v", name, m)
				}
				if n := strings.Count(pg.body, "<h1"); n != 1 {
					t.Errorf("%s: %d h1 elements", name, n)
				}
				if !strings.Contains(pg.body, `<a class="skip" href="#main">`) || !strings.Contains(pg.body, `<main id="main"`) {
					t.Errorf("%s: no skip link", name)
				}
				for _, c := range reControl.FindAllString(pg.body, -1) {
					if strings.Contains(c, `type="hidden"`) {
						continue
					}
					id := reID.FindStringSubmatch(c)
					if id == nil {
						t.Errorf("%s: control without id: %s", name, c)
						continue
					}
					if !strings.Contains(pg.body, `<label for="`+id[1]+`"`) {
						t.Errorf("%s: no label for #%s", name, id[1])
					}
				}
				for _, d := range reScroll.FindAllString(pg.body, -1) {
					if !strings.Contains(d, `tabindex="0"`) || !strings.Contains(d, `role="region"`) || !strings.Contains(d, `aria-labelledby="`) {
						t.Errorf("%s: a scrolling table a keyboard cannot reach or that has no name: %s", name, d)
					}
				}
				for _, th := range reTH.FindAllString(pg.body, -1) {
					if !strings.Contains(th, "scope=") {
						t.Errorf("%s: table header without scope: %s", name, th)
					}
				}
				for _, s := range reSVG.FindAllString(pg.body, -1) {
					if !strings.Contains(s, `role="img"`) || !strings.Contains(s, `aria-label="`) {
						t.Errorf("%s: chart without role or label: %s", name, s)
					}
				}
				if n, m := strings.Count(pg.body, `<svg class="chart"`), strings.Count(pg.body, "<title>")-1; m < n {
					t.Errorf("%s: %d charts, %d titles", name, n, m)
				}
			}
		}
	}
}

// TestContrast holds the stylesheet's text colours to WCAG AA (4.5:1)
// against the backgrounds they are used on.
func TestContrast(t *testing.T) {
	css, err := os.ReadFile("static/portal.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z]+): (#[0-9a-fA-F]{6})`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	pairs := [][2]string{
		{"fg", "bg"}, {"fg", "panel"}, {"muted", "bg"}, {"muted", "panel"}, {"link", "bg"}, {"link", "panel"},
		{"deny", "bg"}, {"deny", "panel"}, {"limit", "bg"}, {"limit", "panel"}, {"allow", "bg"}, {"allow", "panel"},
	}
	for _, p := range pairs {
		a, b := vars[p[0]], vars[p[1]]
		if a == "" || b == "" {
			t.Fatalf("no --%s or --%s in the stylesheet", p[0], p[1])
		}
		if r := contrast(a, b); r < 4.5 {
			t.Errorf("--%s on --%s: %.2f:1", p[0], p[1], r)
		}
	}
	// Fixed colours: the header, buttons, error and notice backgrounds,
	// chart ticks.
	for _, p := range [][2]string{{"#ffffff", "#102a43"}, {"#ffffff", "#0b57d0"}, {"#b3261e", "#fdecea"}, {"#1a1a1a", "#e6f4ea"}, {"#4a4a4a", "#ffffff"}, {"#1a1a1a", "#fdecea"}} {
		if r := contrast(p[0], p[1]); r < 4.5 {
			t.Errorf("%s on %s: %.2f:1", p[0], p[1], r)
		}
	}
}

// contrast is the WCAG 2 contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	var c [3]float64
	for i := range c {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		s := float64(v) / 255
		if s <= 0.03928 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}
