package portal_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"credo/http/portal"
	"credo/internal/browsertest"
)

// TestBrowserFlow drives Chromium through the portal: a citizen signs in
// with a one-time code, sees why a flight was refused and objects; the
// clerk sees the objection in the queue with its deadline and revokes the
// record; the citizen sees the outcome and the changed decision; the
// public lookup finds the listed company without a score; the dashboard
// renders its plots. Every page is saved as a screenshot artifact
// (browsertest.ArtifactDir); with CREDO_PORTAL_DOCS set, PNGs for the
// README are written there too.
func TestBrowserFlow(t *testing.T) {
	e := newEnv(t)
	e.checkAPI(alice, "aviation")
	base := e.ts.URL
	b := newChrome(t, base, 90*time.Second)
	ctx, do, submit, text := b.ctx, b.do, b.submit, b.text
	location := func() string {
		t.Helper()
		l, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(l, base)
	}
	shot := func(name string) {
		t.Helper()
		browsertest.Screenshot(t, ctx, name)
		if dir := os.Getenv("CREDO_PORTAL_DOCS"); dir != "" {
			buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	signIn := b.signIn
	signOut := func() {
		t.Helper()
		submit("signout")
	}

	// The citizen signs in with a one-time code from the registry office.
	code, err := portal.IssueCode(context.Background(), e.db, alice, "tok-code", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	do("sign-in page", chromedp.Navigate(base+"/signin"))
	shot("portal-signin")
	signIn(code)
	if l := location(); l != "/me" {
		t.Fatalf("after sign-in: at %s", l)
	}
	// Why was the flight refused?
	d := text("#decision-aviation")
	for _, want := range []string{"deny", "No flights", "List of dishonest judgment debtors", "SPC Several Provisions on Restricting High Consumption", "Apply in writing to the enforcing court"} {
		if !strings.Contains(d, want) {
			t.Errorf("the aviation decision lacks %q: %s", want, d)
		}
	}
	if s := text("#checks"); !strings.Contains(s, "Air China") || !strings.Contains(s, "deny") {
		t.Errorf("who checked me: %s", s)
	}
	shot("portal-citizen")
	if dir := os.Getenv("CREDO_PORTAL_DOCS"); dir != "" {
		buf, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID("scheme-civic")))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "portal-score.png"), buf, 0o644)
	}

	// An objection with no grounds is refused at the field; then filed.
	do("objection form", chromedp.Click(chromedp.ID(fmt.Sprintf("object-%d", e.aliceJudgment))), chromedp.WaitVisible(chromedp.ID("grounds")))
	do("too short", chromedp.SendKeys(chromedp.ID("grounds"), "paid"))
	submit("object-submit")
	if msg := text("#grounds-error"); !strings.Contains(msg, "10 characters") {
		t.Fatalf("error at the field: %q", msg)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("grounds"))); v != "paid" {
		t.Fatalf("the form lost what was typed: %q", v)
	}
	shot("portal-objection-error")
	do("grounds", chromedp.SendKeys(chromedp.ID("grounds"), " in full on 3 March, receipt no. 1234"))
	submit("object-submit")
	if l := location(); !strings.HasPrefix(l, "/me?done=objection") {
		t.Fatalf("after objecting: at %s", l)
	}
	if s := text("#disputes"); !strings.Contains(s, "Objection") || !strings.Contains(s, "days left") {
		t.Fatalf("the objection is not listed with its deadline: %s", s)
	}
	signOut()

	// The clerk sees it in the queue, with its deadline, and revokes the record.
	signIn(e.secret["tok-chaoyang"])
	if l := location(); l != "/clerk" {
		t.Fatalf("clerk lands at %s", l)
	}
	q := text("#dispute-queue")
	if !strings.Contains(q, alice) || !strings.Contains(q, "15 days left") {
		t.Fatalf("queue: %s", q)
	}
	shot("portal-clerk")
	// Filing a record with bad input: messages at the fields, input kept.
	do("file form", chromedp.Navigate(base+"/clerk/file"), chromedp.SendKeys(chromedp.ID("subject"), "110105194912310021"),
		chromedp.SendKeys(chromedp.ID("decided_at"), "31/12/2025"))
	submit("file-submit")
	if msg := text("#subject-error"); !strings.Contains(msg, "check character") {
		t.Fatalf("subject error: %q", msg)
	}
	if msg := text("#decided_at-error"); !strings.Contains(msg, "YYYY-MM-DD") {
		t.Fatalf("date error: %q", msg)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("decided_at"))); v != "31/12/2025" {
		t.Fatalf("the form lost the date typed: %q", v)
	}
	shot("portal-file-error")
	do("decision form", chromedp.Navigate(base+"/clerk"))
	ds, err := e.reg.DisputeQueue(context.Background(), "court.beijing.chaoyang")
	if err != nil || len(ds) != 1 {
		t.Fatalf("queue: %v %d", err, len(ds))
	}
	do("open the item", chromedp.Click(chromedp.ID(fmt.Sprintf("decide-dispute-%d", ds[0].ID))), chromedp.WaitVisible(chromedp.ID("reason")))
	if g := text("#grounds-text"); !strings.Contains(g, "receipt no. 1234") {
		t.Fatalf("grounds: %q", g)
	}
	do("decide", chromedp.Click(chromedp.ID("outcome-revoked")), chromedp.SendKeys(chromedp.ID("reason"), "Payment confirmed by the bank on 4 March"))
	shot("portal-decide")
	submit("decide-submit")
	if l := location(); l != "/clerk?done=decided" {
		t.Fatalf("after deciding: at %s", l)
	}
	signOut()

	// The one-time code worked once; the citizen signs in with their token
	// and sees the outcome and the changed decision.
	signIn(code)
	if l := location(); l != "/signin" || !strings.Contains(text("#credential-error"), "already been used") {
		t.Fatalf("second use of the code: at %s", l)
	}
	signIn(e.secret["tok-alice"])
	if s := text("#disputes"); !strings.Contains(s, "revoked") || !strings.Contains(s, "Payment confirmed by the bank") {
		t.Fatalf("outcome not shown: %s", s)
	}
	if s := text("#decisions"); !strings.Contains(s, "every service provider is told \"allow\"") {
		t.Fatalf("the decision did not change: %s", s)
	}
	shot("portal-citizen-after")
	// In Chinese.
	submit("lang-switch")
	if h := text("h1"); h != "我的档案" {
		t.Fatalf("Chinese heading: %q", h)
	}
	shot("portal-citizen-zh")
	// At phone width the page does not scroll sideways.
	do("phone", chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2)), chromedp.Navigate(base+"/me?lang=en"))
	fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
	if err != nil || !fits {
		t.Errorf("the page is wider than a 375 px phone (err %v)", err)
	}
	shot("portal-phone")
	do("desktop", chromedp.EmulateViewport(1280, 900))
	signOut()

	// The public lookup finds the listed company and shows no score.
	do("public", chromedp.Navigate(base+"/public"), chromedp.SendKeys(chromedp.ID("q"), "Shenzhen Example"))
	submit("public-submit")
	res := text("#public-results")
	if !strings.Contains(res, companyName) || !strings.Contains(res, company) || !strings.Contains(res, "(2026)京0105执002号") {
		t.Fatalf("results: %s", res)
	}
	if all := text("main"); strings.Contains(strings.ToLower(all), "score:") || strings.Contains(all, "Tier") {
		t.Fatalf("the public page shows a score or tier: %s", all)
	}
	shot("portal-public")

	// The dashboard renders its plots.
	signIn(e.secret["tok-admin"])
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('svg.chart').length`))
	if err != nil || n < 8 {
		t.Fatalf("%d charts (err %v)", n, err)
	}
	// Each chart has drawn something (bars, lines or points).
	empty, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('svg.chart')].filter(s => s.querySelectorAll('rect,polyline,path,circle').length === 0).length`))
	if err != nil || empty > 0 {
		t.Fatalf("%d empty charts (err %v)", empty, err)
	}
	w, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector('#chart-lists svg').getBoundingClientRect().width`))
	if err != nil || w < 300 {
		t.Fatalf("the list chart is %v px wide (err %v)", w, err)
	}
	shot("portal-dashboard")
}

// TestBrowserSimulation drives Chromium through the policy simulation
// page: the administrator follows the dashboard's link, submits a draft
// with an error and sees the FILE:LINE message next to the textarea that
// kept the draft, corrects it and gets the report with its charts; the
// auditor's report names nobody.
func TestBrowserSimulation(t *testing.T) {
	e := newEnv(t)
	base := e.ts.URL
	b := newChrome(t, base, 60*time.Second)
	ctx, do, submit, text, signIn := b.ctx, b.do, b.submit, b.text, b.signIn
	draft := simDraft(t)
	bad := strings.Replace(draft, "lifetime: 5y", "lifetime: forever", 1)

	signIn(e.secret["tok-admin"])
	do("dashboard link", chromedp.Click(chromedp.ID("dash-simulate")), chromedp.WaitVisible(chromedp.ID("policy")))
	do("bad draft", chromedp.SetValue(chromedp.ID("policy"), bad), chromedp.SendKeys(chromedp.ID("min_group"), "1"))
	submit("sim-submit")
	line := strings.Count(draft[:strings.Index(draft, "lifetime: 5y")], "\n") + 1
	if p := text("#policy-problems"); !strings.Contains(p, fmt.Sprintf("draft.yaml:%d:", line)) || !strings.Contains(p, "forever") {
		t.Fatalf("the FILE:LINE messages: %q", p)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("policy"))); v != bad {
		t.Fatalf("the textarea lost the draft (%d bytes, want %d)", len(v), len(bad))
	}
	browsertest.Screenshot(t, ctx, "portal-simulate-error")
	do("corrected draft", chromedp.SetValue(chromedp.ID("policy"), draft))
	submit("sim-submit")
	if n := text("#n-changed"); n != "1" {
		t.Fatalf("changed: %q", n)
	}
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('svg')].filter(s => s.getBoundingClientRect().width > 100 && s.querySelectorAll('rect,line,path,circle').length > 0).length`))
	if err != nil || charts < 1 {
		t.Fatalf("%d drawn charts in the report (err %v)", charts, err)
	}
	if s := text("#affected + p + .scroll table"); !strings.Contains(s, alice) {
		t.Errorf("most affected: %s", s)
	}
	browsertest.Screenshot(t, ctx, "portal-simulate-report")
	do("back", chromedp.Click(chromedp.ID("sim-back")), chromedp.WaitVisible(chromedp.ID("policy")))
	submit("signout")

	signIn(e.secret["tok-auditor"])
	do("form", chromedp.Navigate(base+"/dashboard/simulate"), chromedp.SetValue(chromedp.ID("policy"), draft), chromedp.SendKeys(chromedp.ID("min_group"), "1"))
	submit("sim-submit")
	if n := text("#n-changed"); n != "1" {
		t.Fatalf("auditor: changed %q", n)
	}
	if all := text("body"); strings.Contains(all, alice) {
		t.Error("the auditor's report names a subject")
	}
	browsertest.Screenshot(t, ctx, "portal-simulate-auditor")
}

// chrome drives a Chromium tab over the test server.
type chrome struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func newChrome(t *testing.T, base string, timeout time.Duration) *chrome {
	ctx, cancel := context.WithTimeout(browsertest.New(t), timeout)
	t.Cleanup(cancel)
	return &chrome{t: t, ctx: ctx, base: base}
}

// do runs actions, failing the test with what if one fails.
func (c *chrome) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
}

// submit clicks a button and waits for the page it leads to.
func (c *chrome) submit(id string) {
	c.t.Helper()
	if _, err := chromedp.RunResponse(c.ctx, chromedp.Click(chromedp.ID(id))); err != nil {
		c.t.Fatalf("submitting #%s: %v", id, err)
	}
}

// text returns the text of the first element matching a CSS selector.
func (c *chrome) text(sel string) string {
	c.t.Helper()
	s, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		c.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// signIn signs in on the sign-in page with a credential.
func (c *chrome) signIn(credential string) {
	c.t.Helper()
	c.do("sign-in page", chromedp.Navigate(c.base+"/signin"), chromedp.SendKeys(chromedp.ID("credential"), credential))
	c.submit("signin-submit")
}
