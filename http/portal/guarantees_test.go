package portal_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	credohttp "credo/http"
	"credo/http/portal"
)

// browserResolve resolves a Location header the way a browser does
// (WHATWG URL parsing): leading and trailing C0 controls and spaces are
// stripped, tabs and newlines anywhere are removed, and a backslash is a
// slash in an http(s) URL.
func browserResolve(t *testing.T, base, loc string) *url.URL {
	t.Helper()
	loc = strings.TrimFunc(loc, func(r rune) bool { return r <= ' ' })
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(loc)
	b, _ := url.Parse(base)
	u, err := b.Parse(loc)
	if err != nil {
		return b // unparseable: a browser shows an error, stays on site
	}
	return u
}

// signinRaw signs in as alice with a next target and returns the raw
// Location header (Go's client would refuse to follow some of them).
func (e *env) signinRaw(t *testing.T, next string) string {
	t.Helper()
	b := e.visitor()
	m := csrfField.FindStringSubmatch(b.get("/signin").body)
	if m == nil {
		t.Fatal("no CSRF field on /signin")
	}
	form := url.Values{"credential": {e.secret["tok-alice"]}, "next": {next}, "csrf": {m[1]}}
	req, _ := http.NewRequest("POST", e.ts.URL+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range b.client.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("next %q: status %d", next, resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func TestG17RedirectAfterSigninStaysOnSite(t *testing.T) {
	e := newEnv(t)
	host := strings.TrimPrefix(e.ts.URL, "http://")
	for _, next := range []string{
		"//evil.example/",
		"/\\evil.example/",
		"\\\\evil.example/",
		"/\t/evil.example/",
		"/\n/evil.example/",
		"/\r\n/evil.example/",
		"\t//evil.example/",
		" //evil.example/",
		"/%2F/evil.example/",
		"/%5Cevil.example/",
		"/\\/evil.example/",
		"https://evil.example/",
		"http:evil.example",
		"/\x00/evil.example/",
		"/\u00a0/evil.example/",
		"/me\\..\\..\\/evil.example",
		"javascript:alert(1)",
	} {
		loc := e.signinRaw(t, next)
		u := browserResolve(t, e.ts.URL+"/signin", loc)
		if u.Host != host || (u.Scheme != "http" && u.Scheme != "https") {
			t.Errorf("next %q: redirected to %q, which a browser reads as %s", next, loc, u)
		}
	}
	// A plain path on this site is kept.
	if loc := e.signinRaw(t, "/me/object?record=1"); loc != "/me/object?record=1" {
		t.Errorf("an on-site next: redirected to %q", loc)
	}
}

// sessionCookie returns the visitor's session cookie.
func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.e.ts.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// withCookie returns a new visitor carrying a copy of a cookie.
func (e *env) withCookie(c *http.Cookie) *browser {
	b := e.visitor()
	u, _ := url.Parse(e.ts.URL)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value}})
	return b
}

// signedOut reports whether a visitor is sent to sign in from /me.
func signedOut(pg *page) bool {
	return pg.status == http.StatusSeeOther && strings.HasPrefix(pg.header.Get("Location"), "/signin")
}

func TestG13SignOutEndsTheSessionOnTheServer(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("tok-alice")
	stolen := b.cookie("credo_session")
	if stolen == nil {
		t.Fatal("no session cookie")
	}
	if pg := e.withCookie(stolen).get("/me"); pg.status != http.StatusOK {
		t.Fatalf("the session before sign-out: %d", pg.status)
	}
	if pg := b.post("/me", "/signout", url.Values{}); pg.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", pg.status)
	}
	if pg := e.withCookie(stolen).get("/me"); !signedOut(pg) {
		t.Errorf("a copy of the cookie after sign-out: status %d", pg.status)
	}
}

func TestG13RevokingAOneTimeCodeEndsItsSession(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	code, err := portal.IssueCode(ctx, e.db, alice, "tok-code-g13", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b := e.visitor()
	if pg := b.signIn(code); pg.status != http.StatusSeeOther {
		t.Fatalf("sign-in with the code: %d", pg.status)
	}
	if pg := b.get("/me"); pg.status != http.StatusOK {
		t.Fatalf("the session: %d", pg.status)
	}
	if pg := e.visitor().signIn(code); pg.status != http.StatusUnauthorized {
		t.Fatalf("the code a second time: %d", pg.status)
	}
	// The registry office learns the code was intercepted, and revokes it.
	if err := e.db.RevokeToken(ctx, "tok-code-g13", time.Now()); err != nil {
		t.Fatal(err)
	}
	// The portal trusts its copy of the tokens for 100 ms here: poll.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if signedOut(b.get("/me")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the session made with a revoked one-time code still works")
		}
	}
}

func TestG13CookiesNeverCarryTheNationalID(t *testing.T) {
	e := newEnv(t)
	b := e.signedIn("tok-alice")
	b.get("/me")
	u, _ := url.Parse(e.ts.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		for _, part := range append([]string{c.Value}, strings.Split(c.Value, ".")...) {
			text := part
			for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding} {
				if d, err := enc.DecodeString(part); err == nil {
					text += " " + string(d)
				}
			}
			if strings.Contains(text, alice) || strings.Contains(text, alice[:14]) {
				t.Errorf("cookie %s carries the national ID readably: %q", c.Name, text)
			}
		}
	}
}

func TestG13CSRFTokenTiedToTheSession(t *testing.T) {
	e := newEnv(t)
	b := e.visitor()
	m := csrfField.FindStringSubmatch(b.get("/signin").body)
	if m == nil {
		t.Fatal("no CSRF field")
	}
	before := m[1]
	if pg := b.do("POST", "/signin", url.Values{"credential": {e.secret["tok-alice"]}, "csrf": {before}}); pg.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", pg.status)
	}
	// The token of the signed-out page is worth nothing once signed in.
	if pg := b.do("POST", "/signout", url.Values{"csrf": {before}}); pg.status != http.StatusForbidden {
		t.Errorf("a form token from before sign-in, after it: %d", pg.status)
	}
	m = csrfField.FindStringSubmatch(b.get("/me").body)
	if m == nil {
		t.Fatal("no CSRF field on /me")
	}
	during := m[1]
	if during == before {
		t.Error("the CSRF token was not rotated at sign-in")
	}
	if pg := b.do("POST", "/signout", url.Values{"csrf": {during}}); pg.status != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", pg.status)
	}
	// Signed in again: the last session's token is worth nothing.
	if pg := b.signIn(e.secret["tok-alice"]); pg.status != http.StatusSeeOther {
		t.Fatalf("sign-in again: %d", pg.status)
	}
	if pg := b.do("POST", "/me/object", url.Values{"csrf": {during}, "record": {"1"}, "grounds": {"not mine at all"}}); pg.status != http.StatusForbidden {
		t.Errorf("a form token of an ended session: %d", pg.status)
	}
}

func TestG13HSTSOverTLS(t *testing.T) {
	e := newEnv(t)
	// Behind a TLS proxy (--secure-cookies): HSTS and Secure cookies.
	p, err := portal.New(e.reg, e.db, e.db, portal.Options{Secure: true, SigninRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/signin", nil))
	if rec.Header().Get("Strict-Transport-Security") == "" {
		t.Error("no Strict-Transport-Security with Secure set")
	}
	for _, c := range rec.Result().Cookies() {
		if !c.Secure {
			t.Errorf("cookie %s is not Secure", c.Name)
		}
	}
	// Served over TLS here: the API and the portal send HSTS.
	srv := credohttp.NewServer(e.reg, e.db, e.db, credohttp.Options{Portal: e.portal})
	defer srv.Close()
	ts := httptest.NewTLSServer(srv.Handler())
	defer ts.Close()
	for _, path := range []string{"/signin", "/v1/policies"} {
		resp, err := ts.Client().Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("%s over TLS: no Strict-Transport-Security", path)
		}
	}
	// Not over plain HTTP without Secure.
	if pg := e.visitor().get("/signin"); pg.header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
}

func TestG10PublicLookupsAreRateLimited(t *testing.T) {
	e := newEnv(t)
	v := e.visitor()
	// The lookup by number answers by the mask: a neighbouring number
	// with the same mask finds the same entry.
	other := alice[:6] + "19991231" + alice[14:17]
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(other[i]-'0') * w
	}
	other += string("10X98765432"[sum%11])
	v2 := e.visitor()
	a, b := v2.get("/public?list=dishonest-debtors&q="+alice), v2.get("/public?list=dishonest-debtors&q="+other)
	strip := func(s string) string { return regexp.MustCompile(`value="[^"]*"|1101\d{14}`).ReplaceAllString(s, "") }
	if a.status != b.status || !strings.Contains(a.body, "Zhang Wei") || strip(a.body) != strip(b.body) {
		t.Errorf("the lookup tells the listed person's number (%d) from another with the same mask (%d)", a.status, b.status)
	}
	for i := range 28 {
		if pg := v.get("/public?list=dishonest-debtors&q=Zhang"); pg.status != http.StatusOK {
			t.Fatalf("lookup %d: status %d", i+1, pg.status)
		}
	}
	pg := v.get("/public?list=dishonest-debtors&q=Zhang")
	if pg.status != http.StatusTooManyRequests || pg.header.Get("Retry-After") == "" {
		t.Fatalf("31st lookup in a minute: status %d", pg.status)
	}
}
