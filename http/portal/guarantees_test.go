package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
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
