package portal_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"credo/internal/browsertest"
)

// TestF09AxeEveryPage runs axe-core (WCAG 2.2 A and AA) on every portal
// page, in English and Chinese, at desktop and phone width: zero
// violations.
func TestF09AxeEveryPage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d, err := e.reg.OpenDispute(ctx, e.aliceJudgment, "I paid the judgment on 3 March", "", false, false, "subject")
	if err != nil {
		t.Fatal(err)
	}
	b := newChrome(t, e.ts.URL, 5*time.Minute)
	pages := []struct {
		who   string // token id, "" for a visitor
		paths []string
	}{
		{"", []string{"/", "/signin", "/public", "/public?list=dishonest-debtors&q=Zhang"}},
		{"tok-alice", []string{"/me", fmt.Sprintf("/me/object?record=%d", e.aliceUtility), fmt.Sprintf("/me/repair?record=%d", e.aliceUtility)}},
		{"tok-chaoyang", []string{"/clerk", "/clerk/file", fmt.Sprintf("/clerk/disputes/%d", d.ID)}},
		{"tok-admin", []string{"/dashboard", "/dashboard/simulate"}},
	}
	widths := []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 375, 812}}
	for _, g := range pages {
		if g.who != "" {
			b.do("desktop", chromedp.EmulateViewport(1280, 900))
			b.signIn(e.secret[g.who])
		}
		for _, path := range g.paths {
			for _, lang := range []string{"en", "zh-CN"} {
				for _, w := range widths {
					sep := "?"
					if strings.Contains(path, "?") {
						sep = "&"
					}
					url := path + sep + "lang=" + lang
					b.do(url, chromedp.EmulateViewport(w.w, w.h), chromedp.Navigate(e.ts.URL+url))
					vs, err := browsertest.Axe(b.ctx)
					if err != nil {
						t.Fatalf("%s at %s: %v", url, w.name, err)
					}
					for _, v := range vs {
						t.Errorf("%s at %s: %s", url, w.name, v)
					}
				}
			}
		}
		if g.who != "" {
			b.do("desktop", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(e.ts.URL+"/"))
			b.submit("signout")
		}
	}

	// The simulation report, and a draft's lint errors at the textarea.
	draft := simDraft(t)
	bad := strings.Replace(draft, "lifetime: 5y", "lifetime: forever", 1)
	b.signIn(e.secret["tok-admin"])
	for _, lang := range []string{"en", "zh-CN"} {
		for _, w := range widths {
			for name, src := range map[string]string{"report": draft, "lint errors": bad} {
				b.do("simulate form", chromedp.EmulateViewport(w.w, w.h), chromedp.Navigate(e.ts.URL+"/dashboard/simulate?lang="+lang),
					chromedp.SetValue(chromedp.ID("policy"), src), chromedp.SendKeys(chromedp.ID("min_group"), "1"))
				b.submit("sim-submit")
				vs, err := browsertest.Axe(b.ctx)
				if err != nil {
					t.Fatalf("simulation %s (%s, %s): %v", name, lang, w.name, err)
				}
				for _, v := range vs {
					t.Errorf("simulation %s (%s, %s): %s", name, lang, w.name, v)
				}
			}
		}
	}
}
