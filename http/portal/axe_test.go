package portal_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"credo/internal/browsertest"
)

// TestF09AxeCore runs axe-core (the vendored 4.14.1, browsertest.Axe)
// with the WCAG 2.2 AA rules on every portal page, as the role that sees
// it, in English and Chinese, at desktop (1280 px) and phone (375 px)
// width, in Chromium: the home, sign-in, public list and error pages, the
// citizen's file with its objection and repair forms, the clerk's queues,
// filing form and both decision pages, the dashboard and the policy
// simulation (form and report, as administrator and auditor), and every
// form again after a submission with errors. Any violation fails the test
// with the rule, its impact, the elements and the help text.
//
// At phone width it also checks what axe cannot: that the page does not
// scroll sideways (WCAG 1.4.10, reflow; a wide table scrolls in a box of
// its own). TestAccessibility and TestContrast keep the structure and
// palette checks axe does not make. What axe leaves for a person to review
// (its "incomplete": mostly the colour of SVG chart text, which
// TestContrast holds) is counted in the log; with CREDO_AXE_REVIEW set,
// each element is logged.
func TestF09AxeCore(t *testing.T) {
	e := newEnv(t)
	e.checkAPI(alice, "aviation")
	ctx := context.Background()
	// Something in every queue and table: an objection to bob's listing
	// (the Haidian court's queue), a second water bill of alice's with a
	// repair application (her file and the waterworks' queue), while her
	// first bill and her listing can still be repaired and objected to.
	d, err := e.reg.OpenDispute(ctx, e.bobJudgment, "I paid the judgment on 3 March; receipt 1234", "", false, false, "subject")
	if err != nil {
		t.Fatal(err)
	}
	bill := e.fileRecord(alice, "Zhang Wei", "LATE_UTILITY_FEES", "utility.beijing.water", "W-2026-0043", time.Now().AddDate(0, 0, -30))
	rp, err := e.reg.ApplyRepair(ctx, bill, "Paid the bill in full on 2 March", true, "subject")
	if err != nil {
		t.Fatal(err)
	}
	draft := simDraft(t)

	b := newChrome(t, e.ts.URL, 15*time.Minute)
	nav := func(path string) func() {
		return func() { b.do("open "+path, chromedp.Navigate(b.base+path)) }
	}
	// submitEmpty opens a form and sends it as it is: every required
	// field missing, so the page comes back with its error messages.
	submitEmpty := func(path, button string) func() {
		return func() {
			b.do("open "+path, chromedp.Navigate(b.base+path))
			b.submit(button)
		}
	}
	simulate := func(minGroup string) func() {
		return func() {
			b.do("simulation form", chromedp.Navigate(b.base+"/dashboard/simulate"), chromedp.SetValue(chromedp.ID("policy"), draft),
				chromedp.SendKeys(chromedp.ID("min_group"), minGroup))
			b.submit("sim-submit")
		}
	}
	type visit struct {
		name string
		open func()
	}
	roles := []struct {
		token  string // "" for a visitor
		visits []visit
	}{
		{"", []visit{
			{"/", nav("/")},
			{"/signin", nav("/signin")},
			{"/signin (error)", submitEmpty("/signin", "signin-submit")},
			{"/public", nav("/public")},
			{"/public (results)", nav("/public?list=dishonest-debtors&q=")},
			{"/public (search)", nav("/public?list=dishonest-debtors&q=Shenzhen")},
			{"/public (error)", nav("/public?list=nosuch&q=")},
			{"404", nav("/nope")},
		}},
		{"tok-alice", []visit{
			{"/me", nav("/me")},
			{"/me (flash)", nav("/me?done=objection")},
			{"/me/object", nav(fmt.Sprintf("/me/object?record=%d", e.aliceJudgment))},
			{"/me/object (error)", submitEmpty(fmt.Sprintf("/me/object?record=%d", e.aliceJudgment), "object-submit")},
			{"/me/repair", nav(fmt.Sprintf("/me/repair?record=%d", e.aliceUtility))},
			{"/me/repair (error)", submitEmpty(fmt.Sprintf("/me/repair?record=%d", e.aliceUtility), "repair-submit")},
			{"403", nav("/clerk")},
		}},
		{"tok-chaoyang", []visit{
			{"/clerk (empty)", nav("/clerk")},
			{"/clerk/file", nav("/clerk/file")},
			{"/clerk/file (error)", submitEmpty("/clerk/file", "file-submit")},
		}},
		{"tok-haidian", []visit{
			{"/clerk (objection)", nav("/clerk")},
			{"/clerk/disputes", nav(fmt.Sprintf("/clerk/disputes/%d", d.ID))},
			{"/clerk/disputes (error)", submitEmpty(fmt.Sprintf("/clerk/disputes/%d", d.ID), "decide-submit")},
		}},
		{"tok-water", []visit{
			{"/clerk (repair)", nav("/clerk")},
			{"/clerk/repairs", nav(fmt.Sprintf("/clerk/repairs/%d", rp.ID))},
			{"/clerk/repairs (error)", submitEmpty(fmt.Sprintf("/clerk/repairs/%d", rp.ID), "decide-submit")},
		}},
		{"tok-admin", []visit{
			{"/dashboard", nav("/dashboard")},
			{"/dashboard/simulate", nav("/dashboard/simulate")},
			{"/dashboard/simulate (error)", submitEmpty("/dashboard/simulate", "sim-submit")},
			{"/dashboard/simulate (report)", simulate("1")},
		}},
		{"tok-auditor", []visit{
			{"/dashboard", nav("/dashboard")},
			{"/dashboard/simulate (report)", simulate("1")},
		}},
	}
	widths := []struct {
		name string
		w, h int64
	}{{"desktop", 1280, 900}, {"phone", 375, 812}}

	// found collects each violation once per rule and element, with the
	// pages it was seen on.
	type key struct{ rule, target string }
	type finding struct {
		rule  browsertest.AxeRule
		node  browsertest.AxeNode
		pages []string
	}
	found := map[key]*finding{}
	review := map[string]int{} // axe's "incomplete": rule id -> elements to review
	pages := 0
	for _, lang := range []string{"en", "zh-CN"} {
		for _, role := range roles {
			b.do("language", chromedp.Navigate(b.base+"/?lang="+lang))
			if role.token != "" {
				b.signIn(e.secret[role.token])
			}
			for _, w := range widths {
				b.do(w.name, chromedp.EmulateViewport(w.w, w.h))
				for _, v := range role.visits {
					name := fmt.Sprintf("%s %s %s as %s", lang, w.name, v.name, orElse(role.token, "visitor"))
					v.open()
					// The simulation report (package simulate) still names
					// Chinese "zh": the primary tag must match.
					if got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); err != nil || got != lang && !strings.HasPrefix(lang, got+"-") {
						t.Errorf("%s: html lang %q (err %v)", name, got, err)
					}
					res, err := browsertest.Axe(b.ctx, browsertest.WCAG22AA...)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					pages++
					for _, r := range res.Incomplete {
						review[r.ID] += len(r.Nodes)
						if os.Getenv("CREDO_AXE_REVIEW") != "" {
							for _, n := range r.Nodes {
								t.Logf("REVIEW %s %s | %s | %s", name, n.Selector(), n.HTML[:min(80, len(n.HTML))], strings.ReplaceAll(n.Summary, "\n", " "))
							}
						}
					}
					for _, r := range res.Violations {
						for _, n := range r.Nodes {
							k := key{r.ID, n.Selector()}
							if found[k] == nil {
								found[k] = &finding{rule: r, node: n}
							}
							found[k].pages = append(found[k].pages, name)
						}
					}
					if w.name == "phone" {
						fits, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
						if err != nil || !fits {
							wide, _ := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](tooWide))
							t.Errorf("%s: the page is wider than a 375 px phone (err %v): %s", name, err, strings.Join(wide, ", "))
						}
					}
				}
			}
			if role.token != "" {
				b.do("home", chromedp.Navigate(b.base+"/"))
				b.submit("signout")
			}
		}
	}
	// One failure per rule, listing each element with the pages it is on.
	keys := make([]key, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].rule != keys[j].rule {
			return keys[i].rule < keys[j].rule
		}
		return keys[i].target < keys[j].target
	})
	for i := 0; i < len(keys); {
		r := found[keys[i]].rule
		var msg strings.Builder
		fmt.Fprintf(&msg, "%s (%s): %s <%s>", r.ID, r.Impact, r.Help, r.HelpURL)
		for ; i < len(keys) && keys[i].rule == r.ID; i++ {
			f := found[keys[i]]
			seen := f.pages
			if len(seen) > 3 {
				seen = append(seen[:3:3], fmt.Sprintf("%d more", len(f.pages)-3))
			}
			fmt.Fprintf(&msg, "\n\t%s\n\t\t%s\n\t\t%s\n\t\ton %s", keys[i].target, f.node.HTML,
				strings.ReplaceAll(strings.TrimSpace(f.node.Summary), "\n", "\n\t\t"), strings.Join(seen, "; "))
		}
		t.Error(msg.String())
	}
	t.Logf("axe-core %s, WCAG 2.2 AA: %d pages, %d violations; left for review (axe's \"incomplete\"): %v", browsertest.AxeVersion, pages, len(found), review)
	if pages < 100 {
		t.Errorf("only %d pages checked", pages)
	}
}

// tooWide lists the outermost elements that stick out of the viewport
// and are not inside a scrolling box.
const tooWide = `[...document.querySelectorAll("body *")].filter(e => {
	if (e.getBoundingClientRect().right <= window.innerWidth + 1) return false;
	const p = e.parentElement;
	if (p !== document.body && p.getBoundingClientRect().right > window.innerWidth + 1) return false;
	for (let a = p; a; a = a.parentElement) if (["auto", "scroll", "hidden"].includes(getComputedStyle(a).overflowX)) return false;
	return true;
}).slice(0, 10).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "") + " " + Math.round(e.getBoundingClientRect().width) + " px")`

func orElse(s, ifEmpty string) string {
	if s == "" {
		return ifEmpty
	}
	return s
}
