package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/http/portal"
)

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	t.Run("empty", func(t *testing.T) {
		pg := e.visitor().signIn("")
		if pg.status != http.StatusBadRequest || pg.fieldError("credential") == "" {
			t.Fatalf("status %d, error %q", pg.status, pg.fieldError("credential"))
		}
	})
	t.Run("unknown token is refused at the field and not echoed", func(t *testing.T) {
		pg := e.visitor().signIn("credo_not-a-real-token-secret")
		if pg.status != http.StatusUnauthorized || !strings.Contains(pg.fieldError("credential"), "not known") {
			t.Fatalf("status %d, error %q", pg.status, pg.fieldError("credential"))
		}
		pg.mustNotContain(t, "credo_not-a-real-token-secret")
	})
	t.Run("checker token cannot sign in", func(t *testing.T) {
		pg := e.visitor().signIn(e.secret["tok-airline"])
		if pg.status != http.StatusUnauthorized || pg.fieldError("credential") == "" {
			t.Fatalf("status %d: %s", pg.status, pg.fieldError("credential"))
		}
	})
	t.Run("roles land on their pages", func(t *testing.T) {
		for tok, want := range map[string]string{"tok-alice": "/me", "tok-chaoyang": "/clerk", "tok-admin": "/dashboard", "tok-auditor": "/dashboard"} {
			pg := e.visitor().signIn(e.secret[tok])
			if pg.status != http.StatusSeeOther || pg.header.Get("Location") != want {
				t.Errorf("%s: status %d, Location %q, want %s", tok, pg.status, pg.header.Get("Location"), want)
			}
		}
	})
	t.Run("next stays on this site", func(t *testing.T) {
		for next, want := range map[string]string{"/me/export": "/me/export", "//evil.example/x": "/me", "https://evil.example/": "/me", `/\evil.example`: "/me"} {
			b := e.visitor()
			pg := b.post("/signin?next="+url.QueryEscape(next), "/signin", url.Values{"credential": {e.secret["tok-alice"]}, "next": {next}})
			if pg.status != http.StatusSeeOther || pg.header.Get("Location") != want {
				t.Errorf("next %q: status %d, Location %q, want %q", next, pg.status, pg.header.Get("Location"), want)
			}
		}
	})
	t.Run("session cookie is HttpOnly, SameSite=Lax, and signed", func(t *testing.T) {
		pg := e.visitor().signIn(e.secret["tok-alice"])
		var found bool
		for _, c := range pg.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "credo_session=") {
				found = true
				if !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") {
					t.Errorf("cookie %q", c)
				}
			}
		}
		if !found {
			t.Fatal("no session cookie")
		}
		// A forged cookie (bob's token id, alice's signature) is ignored.
		b := e.visitor()
		u, _ := url.Parse(e.ts.URL)
		b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "credo_session", Value: "eyJ0IjoidG9rLWJvYiIsInIiOiJzdWJqZWN0In0.AAAA"}})
		if pg := b.get("/me"); pg.status != http.StatusSeeOther || !strings.HasPrefix(pg.header.Get("Location"), "/signin") {
			t.Fatalf("forged session: status %d", pg.status)
		}
	})
	t.Run("one-time code works once", func(t *testing.T) {
		code, err := portal.IssueCode(ctx, e.db, alice, "tok-code1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b := e.visitor()
		// Typed in lower case with spaces: still accepted.
		if pg := b.signIn(strings.ToLower(strings.ReplaceAll(code, "-", " "))); pg.status != http.StatusSeeOther || pg.header.Get("Location") != "/me" {
			t.Fatalf("first use: status %d: %s", pg.status, pg.fieldError("credential"))
		}
		// The session works although the code's token is now revoked.
		if pg := b.get("/me"); pg.status != http.StatusOK {
			t.Fatalf("session after one-time code: status %d", pg.status)
		}
		pg := e.visitor().signIn(code)
		if pg.status != http.StatusUnauthorized || !strings.Contains(pg.fieldError("credential"), "already been used") {
			t.Fatalf("second use: status %d, %q", pg.status, pg.fieldError("credential"))
		}
	})
	t.Run("one-time code expires after 24 hours", func(t *testing.T) {
		code, err := portal.IssueCode(ctx, e.db, alice, "tok-code2", time.Now().Add(-25*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		pg := e.visitor().signIn(code)
		if pg.status != http.StatusUnauthorized || !strings.Contains(pg.fieldError("credential"), "24 hours") {
			t.Fatalf("status %d, %q", pg.status, pg.fieldError("credential"))
		}
	})
	t.Run("a bearer token is not a one-time code", func(t *testing.T) {
		// A subject token typed without its prefix is not accepted as a code.
		pg := e.visitor().signIn(strings.TrimPrefix(e.secret["tok-alice"], "credo_"))
		if pg.status != http.StatusUnauthorized {
			t.Fatalf("status %d", pg.status)
		}
	})
	t.Run("revoking the token ends the session", func(t *testing.T) {
		if err := e.db.CreateToken(ctx, &credo.Token{ID: "tok-temp", Hash: credo.HashBytes([]byte("credo_temp-secret-1")), Role: credo.RoleAuditor, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		b := e.visitor()
		if pg := b.signIn("credo_temp-secret-1"); pg.status != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", pg.status)
		}
		if err := e.db.RevokeToken(ctx, "tok-temp", time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		// The portal reloads tokens when its copy is older than its TTL
		// (100 ms here): poll past that.
		deadline := time.Now().Add(5 * time.Second)
		for {
			pg := b.get("/dashboard")
			if pg.status == http.StatusSeeOther {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("session still valid after revocation: status %d", pg.status)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Run("sign out", func(t *testing.T) {
		b := e.signedIn("tok-alice")
		if pg := b.post("/me", "/signout", url.Values{}); pg.status != http.StatusSeeOther {
			t.Fatalf("sign out: %d", pg.status)
		}
		if pg := b.get("/me"); pg.status != http.StatusSeeOther {
			t.Fatalf("after sign out: %d", pg.status)
		}
	})
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("tok-alice")
	// A POST without the token (as from another site) is refused.
	pg := b.do("POST", "/me/object", url.Values{"record": {fmt.Sprint(e.aliceJudgment)}, "grounds": {"I paid everything in full"}})
	if pg.status != http.StatusForbidden {
		t.Fatalf("status %d", pg.status)
	}
	// With a token made for another visitor, too.
	other := e.visitor()
	m := csrfField.FindStringSubmatch(other.get("/signin").body)
	pg = b.do("POST", "/me/object", url.Values{"csrf": {m[1]}, "record": {fmt.Sprint(e.aliceJudgment)}, "grounds": {"I paid everything in full"}})
	if pg.status != http.StatusForbidden {
		t.Fatalf("foreign token: status %d", pg.status)
	}
	if ds, _ := e.reg.Disputes(context.Background(), credo.DisputeFilter{Subject: alice}, ""); len(ds) != 0 {
		t.Fatalf("a dispute was opened without a valid CSRF token: %+v", ds)
	}
}

func TestCitizenPage(t *testing.T) {
	e := newEnv(t)
	e.checkAPI(alice, "aviation")
	b := e.signedIn("tok-alice")
	pg := b.get("/me")
	if pg.status != http.StatusOK {
		t.Fatalf("status %d: %s", pg.status, pg.body)
	}
	pg.mustContain(t,
		`<html lang="en">`, alice,
		`id="decision-aviation"`, "badge-deny", "No flights", // the denial and its measure
		"SPC Several Provisions on Restricting High Consumption", // its legal basis
		"List of dishonest judgment debtors",                     // the listing behind it
		"Apply in writing to the enforcing court",                // how to contest
		`<svg class="chart"`, `role="img"`, "<title>",            // the score chart
		"Trustworthy (most residents", // what the tier means
		fmt.Sprintf(`href="#record-%d">#%d Water, power, gas`, e.aliceUtility, e.aliceUtility), // the step's cause
		"Performing the obligation ends it.",                                                   // what would end the listing sooner
		fmt.Sprintf(`id="object-%d"`, e.aliceJudgment),                                         // object buttons
		fmt.Sprintf(`id="repair-%d"`, e.aliceUtility),                                          // repair for the utility record (allowed at once)
		"Air China", "Notice of record", `<a href="/me/export"`,
	)
	// No repair for the SPC listing (the rule allows none).
	pg.mustNotContain(t, fmt.Sprintf(`id="repair-%d"`, e.aliceJudgment))
	// One h1; a skip link; labelled tables.
	if n := strings.Count(pg.body, "<h1"); n != 1 {
		t.Errorf("%d h1 elements", n)
	}
	pg.mustContain(t, `class="skip" href="#main"`, `<th scope="col">`, `<meta name="viewport"`)

	t.Run("Chinese", func(t *testing.T) {
		pg := b.get("/me?lang=zh-CN")
		pg.mustContain(t, `<html lang="zh-CN">`, "我的档案", "谁查询过我", "拒绝")
		// The choice is remembered.
		pg = b.get("/me")
		pg.mustContain(t, `<html lang="zh-CN">`)
		b.get("/me?lang=en")
	})
	t.Run("Accept-Language", func(t *testing.T) {
		v := e.visitor()
		v.lang = "zh-CN,zh;q=0.9,en;q=0.5"
		v.get("/").mustContain(t, `<html lang="zh-CN">`, "信用登记系统")
	})
	t.Run("export", func(t *testing.T) {
		pg := b.get("/me/export")
		if pg.status != 200 || !strings.HasPrefix(pg.header.Get("Content-Type"), "application/json") || !strings.Contains(pg.header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("status %d, %v", pg.status, pg.header)
		}
		var ex portal.Export
		if err := json.Unmarshal([]byte(pg.body), &ex); err != nil {
			t.Fatal(err)
		}
		if ex.Subject != alice || len(ex.State.Records) != 2 || len(ex.Checks) != 1 || len(ex.Notices) != 2 || len(ex.History) == 0 || len(ex.Decisions) == 0 {
			t.Fatalf("export: subject %s, %d records, %d checks, %d notices, %d history points, %d decisions",
				ex.Subject, len(ex.State.Records), len(ex.Checks), len(ex.Notices), len(ex.History), len(ex.Decisions))
		}
	})
}

func TestAccess(t *testing.T) {
	e := newEnv(t)
	anon := e.visitor()
	for _, path := range []string{"/me", "/me/export", "/clerk", "/clerk/file", "/dashboard"} {
		pg := anon.get(path)
		if pg.status != http.StatusSeeOther || pg.header.Get("Location") != "/signin?next="+url.QueryEscape(path) {
			t.Errorf("anonymous %s: status %d, Location %q", path, pg.status, pg.header.Get("Location"))
		}
	}
	alice := e.signedIn("tok-alice")
	for _, path := range []string{"/clerk", "/clerk/file", "/dashboard", "/clerk/disputes/1"} {
		if pg := alice.get(path); pg.status != http.StatusForbidden {
			t.Errorf("citizen %s: status %d", path, pg.status)
		}
	}
	// A citizen cannot see or act on another subject's record.
	// Whether it exists is not hers to learn: the same answer as for a
	// missing record (issue 14 item 14).
	pg := alice.get(fmt.Sprintf("/me/object?record=%d", e.bobJudgment))
	if pg.status != http.StatusNotFound {
		t.Fatalf("bob's record: status %d", pg.status)
	}
	if none := alice.get("/me/object?record=999999"); none.status != pg.status {
		t.Errorf("bob's record and a missing one are answered differently: %d, %d", pg.status, none.status)
	}
	pg.mustNotContain(t, bob, "Li Na", "goroutine")
	pg = alice.post(fmt.Sprintf("/me/object?record=%d", e.aliceJudgment), "/me/object",
		url.Values{"record": {fmt.Sprint(e.bobJudgment)}, "grounds": {"This is not my debt at all"}})
	if pg.status != http.StatusNotFound {
		t.Fatalf("objecting to bob's record: status %d", pg.status)
	}
	if ds, _ := e.reg.Disputes(context.Background(), credo.DisputeFilter{Subject: bob}, ""); len(ds) != 0 {
		t.Fatal("alice opened a dispute on bob's record")
	}
	alice.get("/me").mustNotContain(t, bob)
	// Bad record ids are a 400 page, not a crash.
	for _, q := range []string{"x", "-1", "99999999999999999999", ""} {
		pg := alice.get("/me/object?record=" + url.QueryEscape(q))
		if pg.status != http.StatusBadRequest && pg.status != http.StatusNotFound {
			t.Errorf("record=%q: status %d", q, pg.status)
		}
		pg.mustContain(t, "Request id")
	}
	// Clerks and operators see only their pages.
	clerk := e.signedIn("tok-chaoyang")
	for _, path := range []string{"/me", "/dashboard"} {
		if pg := clerk.get(path); pg.status != http.StatusForbidden {
			t.Errorf("clerk %s: status %d", path, pg.status)
		}
	}
	admin := e.signedIn("tok-admin")
	if pg := admin.get("/clerk"); pg.status != http.StatusForbidden {
		t.Errorf("admin /clerk: status %d", pg.status)
	}
	// Unknown pages: a 404 page, in HTML.
	if pg := anon.get("/nope"); pg.status != http.StatusNotFound || !strings.Contains(pg.header.Get("Content-Type"), "text/html") {
		t.Errorf("/nope: status %d, %s", pg.status, pg.header.Get("Content-Type"))
	}
}

func TestMount(t *testing.T) {
	e := newEnv(t)
	v := e.visitor()
	if pg := v.get("/"); pg.status != 200 || !strings.Contains(pg.body, "<h1>") {
		t.Fatalf("/: status %d", pg.status)
	}
	// Unknown API paths keep their problem+json 404.
	pg := v.get("/v1/nope")
	if pg.status != 404 || pg.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("/v1/nope: status %d, %s", pg.status, pg.header.Get("Content-Type"))
	}
	if pg := v.get("/healthz"); pg.status != 200 || !strings.Contains(pg.body, "ok") {
		t.Fatalf("/healthz: %d", pg.status)
	}
	if pg := v.get("/static/portal.css"); pg.status != 200 || !strings.HasPrefix(pg.header.Get("Content-Type"), "text/css") {
		t.Fatalf("css: %d", pg.status)
	}
}

func TestObjection(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("tok-alice")
	form := fmt.Sprintf("/me/object?record=%d", e.aliceJudgment)
	fp := b.get(form)
	fp.mustContain(t, `<label for="grounds">`, "within 15 days of receiving", "(2026)京0105执001号")

	t.Run("bad input is refused at the field and kept", func(t *testing.T) {
		for _, grounds := range []string{"", "   ", "too short"} {
			pg := b.post(form, "/me/object", url.Values{"record": {fmt.Sprint(e.aliceJudgment)}, "grounds": {grounds}, "new_information": {"1"}})
			if pg.status != http.StatusBadRequest || pg.fieldError("grounds") == "" {
				t.Fatalf("grounds %q: status %d, error %q", grounds, pg.status, pg.fieldError("grounds"))
			}
			if grounds != "" {
				pg.mustContain(t, ">"+grounds+"</textarea>")
			}
			pg.mustContain(t, `id="new_information" name="new_information" value="1" checked`, `aria-invalid="true"`)
		}
		long := strings.Repeat("长", 1500) // 4500 bytes
		pg := b.post(form, "/me/object", url.Values{"record": {fmt.Sprint(e.aliceJudgment)}, "grounds": {long}})
		if pg.status != http.StatusBadRequest || pg.fieldError("grounds") == "" {
			t.Fatalf("long grounds: status %d", pg.status)
		}
	})
	t.Run("filed", func(t *testing.T) {
		pg := b.post(form, "/me/object", url.Values{"record": {fmt.Sprint(e.aliceJudgment)}, "grounds": {"I paid the judgment on 3 March; receipt 1234"}})
		if pg.status != http.StatusSeeOther || !strings.HasPrefix(pg.header.Get("Location"), "/me?done=objection") {
			t.Fatalf("status %d: %s", pg.status, pg.body)
		}
		me := b.get("/me?done=objection")
		me.mustContain(t, `id="flash"`, "Objection", "days left")
		me.mustNotContain(t, fmt.Sprintf(`id="object-%d"`, e.aliceJudgment)) // one open objection at a time
	})
	t.Run("a second objection while one is open is refused at the field", func(t *testing.T) {
		pg := b.post(fmt.Sprintf("/me/object?record=%d", e.aliceUtility), "/me/object",
			url.Values{"record": {fmt.Sprint(e.aliceJudgment)}, "grounds": {"Objecting a second time, still paid"}})
		if pg.status != http.StatusConflict || pg.fieldError("grounds") == "" {
			t.Fatalf("status %d, %q", pg.status, pg.fieldError("grounds"))
		}
		pg.mustContain(t, "Objecting a second time, still paid")
	})
}

func TestRepair(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("tok-alice")
	form := fmt.Sprintf("/me/repair?record=%d", e.aliceUtility)
	b.get(form).mustContain(t, `<label for="statement">`, `<label for="commitment">`, "within 10 working days")
	pg := b.post(form, "/me/repair", url.Values{"record": {fmt.Sprint(e.aliceUtility)}, "statement": {""}})
	if pg.status != http.StatusBadRequest || pg.fieldError("statement") == "" || pg.fieldError("commitment") == "" {
		t.Fatalf("status %d, statement %q, commitment %q", pg.status, pg.fieldError("statement"), pg.fieldError("commitment"))
	}
	pg = b.post(form, "/me/repair", url.Values{"record": {fmt.Sprint(e.aliceUtility)}, "statement": {"Paid the bill in full"}})
	if pg.status != http.StatusBadRequest || pg.fieldError("commitment") == "" || pg.fieldError("statement") != "" {
		t.Fatalf("no commitment: status %d", pg.status)
	}
	pg.mustContain(t, ">Paid the bill in full</textarea>")
	// The SPC listing allows no repair: the registry's refusal shows at the field.
	pg = b.post(form, "/me/repair", url.Values{"record": {fmt.Sprint(e.aliceJudgment)}, "statement": {"Paid"}, "commitment": {"1"}})
	if pg.status != http.StatusConflict && pg.status != http.StatusBadRequest || pg.fieldError("statement") == "" {
		t.Fatalf("repair of an unrepairable record: status %d, %q", pg.status, pg.fieldError("statement"))
	}
	pg = b.post(form, "/me/repair", url.Values{"record": {fmt.Sprint(e.aliceUtility)}, "statement": {"Paid the bill in full"}, "commitment": {"1"}})
	if pg.status != http.StatusSeeOther {
		t.Fatalf("status %d: %s", pg.status, pg.body)
	}
	// The waterworks clerk sees it in their queue and approves it.
	w := e.signedIn("tok-water")
	q := w.get("/clerk")
	q.mustContain(t, alice, "W-2026-0042")
	rs, err := e.reg.RepairQueue(context.Background(), "utility.beijing.water")
	if err != nil || len(rs) != 1 {
		t.Fatalf("repair queue: %v, %d", err, len(rs))
	}
	q.mustContain(t, fmt.Sprintf(`id="q-repair-%d"`, rs[0].ID))
	dp := fmt.Sprintf("/clerk/repairs/%d", rs[0].ID)
	w.get(dp).mustContain(t, "Paid the bill in full")
	pg = w.post(dp, dp, url.Values{"outcome": {"approved"}, "reason": {"Bill paid, receipt checked"}})
	if pg.status != http.StatusSeeOther {
		t.Fatalf("decide: %d %s", pg.status, pg.body)
	}
	me := b.get("/me")
	me.mustContain(t, "approved", "Bill paid, receipt checked", "repaired")
}

func TestClerkQueue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d, err := e.reg.OpenDispute(ctx, e.aliceJudgment, "I paid the judgment on 3 March", "", false, false, "subject")
	if err != nil {
		t.Fatal(err)
	}
	// An older objection, already past its deadline, filed at the other court.
	clerk := e.signedIn("tok-chaoyang")
	q := clerk.get("/clerk")
	q.mustContain(t, fmt.Sprintf(`id="q-dispute-%d"`, d.ID), alice, "(2026)京0105执001号", "15 days left", e.reg.Now().AddDate(0, 0, 15).In(d.Deadline.Location()).Format("2006-01-02")[:4])
	// Another court's clerk sees neither the item nor its page.
	other := e.signedIn("tok-haidian")
	other.get("/clerk").mustNotContain(t, fmt.Sprintf(`id="q-dispute-%d"`, d.ID), alice)
	page := fmt.Sprintf("/clerk/disputes/%d", d.ID)
	if pg := other.get(page); pg.status != http.StatusForbidden {
		t.Fatalf("other court: status %d", pg.status)
	}
	if pg := other.post("/clerk", page, url.Values{"outcome": {"revoked"}, "reason": {"not ours"}}); pg.status != http.StatusForbidden {
		t.Fatalf("other court deciding: status %d", pg.status)
	}

	t.Run("bad input", func(t *testing.T) {
		pg := clerk.post(page, page, url.Values{"outcome": {"maybe"}, "reason": {"  "}})
		if pg.status != http.StatusBadRequest || pg.fieldError("outcome") == "" || pg.fieldError("reason") == "" {
			t.Fatalf("status %d, outcome %q, reason %q", pg.status, pg.fieldError("outcome"), pg.fieldError("reason"))
		}
		pg = clerk.post(page, page, url.Values{"reason": {"Payment confirmed by the bank"}})
		if pg.status != http.StatusBadRequest || pg.fieldError("outcome") == "" {
			t.Fatalf("no outcome: status %d", pg.status)
		}
		pg.mustContain(t, ">Payment confirmed by the bank</textarea>")
		pg = clerk.post(page, page, url.Values{"outcome": {"upheld"}})
		pg.mustContain(t, `id="outcome-upheld" value="upheld" checked`)
	})
	t.Run("revoked", func(t *testing.T) {
		pg := clerk.post(page, page, url.Values{"outcome": {"revoked"}, "reason": {"Payment confirmed by the bank"}})
		if pg.status != http.StatusSeeOther {
			t.Fatalf("status %d: %s", pg.status, pg.body)
		}
		clerk.get("/clerk?done=decided").mustContain(t, `id="flash"`, `id="no-disputes"`)
		// Deciding twice is refused at the field.
		pg = clerk.post(page, page, url.Values{"outcome": {"upheld"}, "reason": {"again"}})
		if pg.status != http.StatusConflict || pg.fieldError("reason") == "" {
			t.Fatalf("second decision: status %d", pg.status)
		}
		// The citizen sees the outcome and the changed decision.
		me := e.signedIn("tok-alice").get("/me")
		me.mustContain(t, "Payment confirmed by the bank", "<strong>revoked</strong>", `id="no-decisions"`)
	})
}

func TestOverdueFlag(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// An objection opened 20 days ago is past its 15-day deadline.
	if _, err := e.reg.Append(ctx, &credo.Event{Type: credo.EventDisputeOpened, Subject: alice, Actor: "subject",
		Dispute: &credo.Dispute{RecordID: e.aliceJudgment, OpenedAt: time.Now().AddDate(0, 0, -20), Grounds: "old objection"}}); err != nil {
		t.Fatal(err)
	}
	pg := e.signedIn("tok-chaoyang").get("/clerk")
	pg.mustContain(t, `class="overdue-row"`, "overdue", `id="overdue-count"`, "days overdue")
	dash := e.signedIn("tok-admin").get("/dashboard")
	dash.mustContain(t, "Chaoyang District People&#39;s Court")
}

func TestFileRecord(t *testing.T) {
	e := newEnv(t)
	clerk := e.signedIn("tok-chaoyang")
	fp := clerk.get("/clerk/file")
	fp.mustContain(t, `<label for="subject">`, `<label for="rule">`, `<label for="evidence_sha256">`, "JUDGMENT_DEFAULT_ABILITY")
	fp.mustNotContain(t, "LATE_UTILITY_FEES") // only the rules the court may file
	good := url.Values{"subject": {carol()}, "subject_name": {"Wang Fang"}, "rule": {"DEBT_JUDGMENT"}, "case_ref": {"(2026)京0105民100号"},
		"decided_at": {time.Now().AddDate(0, 0, -3).Format("2006-01-02")}, "evidence_sha256": {digest("x")}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		f.Set(k, v)
		return f
	}
	for _, tc := range []struct {
		name, field string
		form        url.Values
	}{
		{"no subject", "subject", with("subject", "")},
		{"bad check digit", "subject", with("subject", "110105194912310021")},
		{"no rule", "rule", with("rule", "")},
		{"rule of another authority", "rule", with("rule", "LATE_UTILITY_FEES")},
		{"unknown rule", "rule", with("rule", "NOPE")},
		{"no case", "case_ref", with("case_ref", "")},
		{"bad date", "decided_at", with("decided_at", "31/12/2025")},
		{"bad notified date", "notified_at", with("notified_at", "tomorrow")},
		{"bad quantity", "quantity", with("quantity", "lots")},
		{"short digest", "evidence_sha256", with("evidence_sha256", "abc")},
		{"no digest", "evidence_sha256", with("evidence_sha256", "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pg := clerk.post("/clerk/file", "/clerk/file", tc.form)
			if pg.status != http.StatusBadRequest || pg.fieldError(tc.field) == "" {
				t.Fatalf("status %d, error at %s: %q", pg.status, tc.field, pg.fieldError(tc.field))
			}
			// What was typed is kept (escaped).
			for k, v := range tc.form {
				if k != "rule" && v[0] != "" && !strings.Contains(pg.body, `value="`+template.HTMLEscapeString(v[0])+`"`) {
					t.Errorf("%s=%q not kept", k, v[0])
				}
			}
			pg.mustContain(t, `id="error-summary"`)
			pg.mustNotContain(t, "goroutine", "panic")
		})
	}
	t.Run("markup is escaped", func(t *testing.T) {
		f := with("subject_name", `<script>alert(1)</script>`)
		f.Set("evidence_sha256", "")
		pg := clerk.post("/clerk/file", "/clerk/file", f)
		pg.mustNotContain(t, "<script>alert(1)</script>")
		pg.mustContain(t, "&lt;script&gt;")
	})
	t.Run("a policy refusal shows at a field", func(t *testing.T) {
		// A company cannot be filed under a person-only rule.
		pg := clerk.post("/clerk/file", "/clerk/file", with("subject", company))
		if pg.status != http.StatusBadRequest || !strings.Contains(pg.body, `class="error"`) {
			t.Fatalf("status %d", pg.status)
		}
	})
	t.Run("filed", func(t *testing.T) {
		pg := clerk.post("/clerk/file", "/clerk/file", good)
		if pg.status != http.StatusSeeOther || !strings.HasPrefix(pg.header.Get("Location"), "/clerk?done=filed") {
			t.Fatalf("status %d: %s", pg.status, pg.body)
		}
		rec, err := e.db.RecordByCase(context.Background(), "court.beijing.chaoyang", "(2026)京0105民100号")
		if err != nil || rec.Subject != carol() || rec.Authority != "court.beijing.chaoyang" {
			t.Fatalf("record %+v, %v", rec, err)
		}
		// Filing the same again is an idempotent no-op; a different record
		// under the same case reference is refused at the case field.
		pg = clerk.post("/clerk/file", "/clerk/file", with("evidence_sha256", digest("other")))
		if pg.status != http.StatusConflict || pg.fieldError("case_ref") == "" {
			t.Fatalf("conflict: status %d", pg.status)
		}
	})
}

func carol() string { return ric(3) }

func TestPublicLookup(t *testing.T) {
	e := newEnv(t)
	v := e.visitor()
	v.get("/public").mustContain(t, `<label for="q">`, "List of dishonest judgment debtors")
	for _, q := range []string{"shenzhen example", company} {
		pg := v.get("/public?list=dishonest-debtors&q=" + url.QueryEscape(q))
		if pg.status != 200 {
			t.Fatalf("%q: status %d", q, pg.status)
		}
		pg.mustContain(t, companyName, company, "(2026)京0105执002号", "Chaoyang District People&#39;s Court", `<th scope="col">Case number</th>`)
		pg.mustNotContain(t, "Zhang Wei", "Li Na")
	}
	// A person's identifier is published with the birth date and the
	// check character masked, and no age.
	pg := v.get("/public?list=dishonest-debtors&q=" + alice)
	pg.mustContain(t, "Zhang Wei", alice[:6]+"********"+alice[14:17]+"*")
	pg.mustNotContain(t, `<th scope="col">Age</th>`)
	table := pg.body[strings.Index(pg.body, `<table id="public-results"`):]
	if strings.Contains(table, alice) {
		t.Errorf("the results show the whole identifier %s", alice)
	}
	// Never a score or a tier: the page has no such column, nor the
	// subject's score.
	all := v.get("/public?list=dishonest-debtors&q=")
	all.mustContain(t, companyName, "Zhang Wei", "Li Na")
	for _, forbidden := range []string{"Score", "score</th>", "Tier", ">1000<", ">980<", "evidence"} {
		all.mustNotContain(t, forbidden)
	}
	// Bad input: an unknown or non-public list, a long query.
	for _, q := range []string{"list=low-credit&q=x", "list=nope&q=x", "q=" + strings.Repeat("x", 201)} {
		pg := v.get("/public?" + q)
		if pg.status != http.StatusBadRequest || !strings.Contains(pg.body, `class="error"`) {
			t.Errorf("%s: status %d", q, pg.status)
		}
	}
	v.get("/public?list=dishonest-debtors&q=nobody").mustContain(t, `id="no-results"`)
}

func TestDashboard(t *testing.T) {
	e := newEnv(t)
	e.checkAPI(alice, "aviation")
	e.checkAPI(bob, "aviation")
	for _, tok := range []string{"tok-admin", "tok-auditor"} {
		pg := e.signedIn(tok).get("/dashboard")
		if pg.status != 200 {
			t.Fatalf("%s: status %d", tok, pg.status)
		}
		if n := strings.Count(pg.body, `<svg class="chart"`); n < 8 {
			t.Errorf("%d charts", n)
		}
		for _, id := range []string{"tiers-civic", "lists", "checks", "denials", "due", "ingest", "policies"} {
			pg.mustContain(t, `id="chart-`+id+`"`)
		}
		// Two aviation denials today; no personal data.
		pg.mustContain(t, "Air travel", `aria-label="Denials per sector per day"`)
		pg.mustNotContain(t, alice, bob, "Zhang Wei")
	}
}

func TestAppeal(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d, err := e.reg.OpenDispute(ctx, e.aliceJudgment, "I paid the judgment on 3 March", "", false, false, "subject")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.DecideDispute(ctx, d.ID, credo.OutcomeUpheld, "No payment on file", "court.beijing.chaoyang"); err != nil {
		t.Fatal(err)
	}
	b := e.signedIn("tok-alice")
	me := b.get("/me")
	me.mustContain(t, "<strong>upheld</strong>", "No payment on file", "You may appeal until", fmt.Sprintf(`id="appeal-%d"`, e.aliceJudgment))
	form := fmt.Sprintf("/me/object?record=%d&appeal=1", e.aliceJudgment)
	b.get(form).mustContain(t, "Appeal the decision on my objection", `name="appeal" value="1"`)
	pg := b.post(form, "/me/object", url.Values{"record": {fmt.Sprint(e.aliceJudgment)}, "appeal": {"1"}, "grounds": {"The bank statement shows the payment on 3 March"}})
	if pg.status != http.StatusSeeOther {
		t.Fatalf("appeal: status %d: %s", pg.status, pg.fieldError("grounds"))
	}
	// The appeal goes to the court at the next level, not back to Chaoyang.
	ds, err := e.reg.DisputeQueue(ctx, "court.beijing.no3-intermediate")
	if err != nil || len(ds) != 1 || !ds[0].Appeal {
		t.Fatalf("appellate queue: %v %+v", err, ds)
	}
	e.signedIn("tok-chaoyang").get("/clerk").mustContain(t, `id="no-disputes"`)
	if pg := e.signedIn("tok-chaoyang").get(fmt.Sprintf("/clerk/disputes/%d", ds[0].ID)); pg.status != http.StatusForbidden {
		t.Fatalf("the first court opens the appeal: status %d", pg.status)
	}
}

// TestH05PortalOffersWhatRegistryAccepts holds issue 16 item 5 (the
// eligibility rules in the registry): once the decision on an objection
// was appealed and the appeal decided, the page no longer offers a second
// appeal, which OpenDispute refuses (the portal's own rule offered it until
// the first appeal window closed).
func TestH05PortalOffersWhatRegistryAccepts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d, err := e.reg.OpenDispute(ctx, e.aliceJudgment, "I paid the judgment on 3 March", "", false, false, "subject")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.DecideDispute(ctx, d.ID, credo.OutcomeUpheld, "No payment on file", "court.beijing.chaoyang"); err != nil {
		t.Fatal(err)
	}
	a, err := e.reg.OpenDispute(ctx, e.aliceJudgment, "The bank statement shows the payment on 3 March", "", true, false, "subject")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.DecideDispute(ctx, a.ID, credo.OutcomeUpheld, "Still no payment on file", "court.beijing.no3-intermediate"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.reg.OpenDispute(ctx, e.aliceJudgment, "and once more on appeal", "", true, false, "subject"); credo.ErrorCode(err) != credo.ECONFLICT {
		t.Fatalf("a second appeal: %v, want a conflict", err)
	}
	me := e.signedIn("tok-alice").get("/me")
	me.mustNotContain(t, fmt.Sprintf(`id="appeal-%d"`, e.aliceJudgment))
	me.mustContain(t, fmt.Sprintf(`id="object-%d"`, e.aliceJudgment))
}
