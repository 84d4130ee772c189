package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
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
		// The portal reloads tokens at most every 10 s: poll past that.
		deadline := time.Now().Add(15 * time.Second)
		for {
			pg := b.get("/dashboard")
			if pg.status == http.StatusSeeOther {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("session still valid after revocation: status %d", pg.status)
			}
			time.Sleep(500 * time.Millisecond)
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
	pg := alice.get(fmt.Sprintf("/me/object?record=%d", e.bobJudgment))
	if pg.status != http.StatusForbidden {
		t.Fatalf("bob's record: status %d", pg.status)
	}
	pg.mustNotContain(t, bob, "Li Na", "goroutine")
	pg = alice.post(fmt.Sprintf("/me/object?record=%d", e.aliceJudgment), "/me/object",
		url.Values{"record": {fmt.Sprint(e.bobJudgment)}, "grounds": {"This is not my debt at all"}})
	if pg.status != http.StatusForbidden {
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
	fp.mustContain(t, `<label for="grounds">`, "within 15d", "(2026)京0105执001号")

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
	b.get(form).mustContain(t, `<label for="statement">`, `<label for="commitment">`, "10wd")
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
