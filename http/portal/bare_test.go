package portal

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/policies"
	"credo/registry"
	"credo/sqlite"
)

// newBare returns a portal over an empty registry with the example policy.
func newBare(t *testing.T) *Portal {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "credo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := registry.Open(ctx, db, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "beijing.yaml", policies.Beijing, reg.Now().AddDate(-1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	p, err := New(reg, db, db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHistoryCacheIsExact(t *testing.T) {
	p := newBare(t)
	ctx := context.Background()
	subject := "11010519491231002X"
	now0 := p.reg.Now()
	if _, err := p.reg.Append(ctx, &credo.Event{Type: credo.EventConsentGiven, Subject: subject, Actor: credo.RoleSubject,
		Consent: &credo.Consent{Scheme: "civic", At: now0.AddDate(0, -11, 0), Given: true}}); err != nil {
		t.Fatal(err)
	}
	file := func(caseRef string, decided time.Time) {
		t.Helper()
		if _, err := p.reg.FileRecord(ctx, &credo.Record{Subject: subject, Rule: "LATE_UTILITY_FEES", Authority: "utility.beijing.water",
			CaseRef: caseRef, DecidedAt: decided, EvidenceSHA256: credo.HashBytes([]byte(caseRef))}); err != nil {
			t.Fatal(err)
		}
	}
	file("W-1", now0.AddDate(0, -6, 0))
	file("W-2", now0.AddDate(0, 0, -10)) // ends in about 80 days: the next change
	now0 = p.reg.Now()                   // after the filings: they are known
	pol, _, err := p.reg.Policy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	loc := pol.Location()
	fresh := func(f *engine.Facts, now time.Time) []registry.HistoryPoint {
		y, m, d := now.In(loc).AddDate(-5, 0, 0).Date()
		walk, err := registry.WalkHistory(p.reg.Engine(), f, time.Date(y, m, d, 0, 0, 0, 0, loc), now, now)
		if err != nil {
			t.Fatal(err)
		}
		return walk.Points
	}
	f, err := p.reg.Facts(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	a, err := p.scoreHistory(f, now0, loc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, fresh(f, now0)) || len(a) < 4 {
		t.Fatalf("first walk: %+v", a)
	}
	e := p.histories.m[subject]
	if e == nil || e.next.IsZero() || !e.next.After(now0.AddDate(0, 2, 0)) {
		t.Fatalf("cache entry %+v", e)
	}
	// An hour later, before the next change: from the cache, and the same
	// as a fresh walk.
	now1 := now0.Add(time.Hour)
	b, _ := p.scoreHistory(f, now1, loc)
	if &b[0] != &a[0] {
		t.Error("not served from the cache")
	}
	if !reflect.DeepEqual(b, fresh(f, now1)) {
		t.Fatalf("cached history differs from a fresh walk:\n%+v\n%+v", b, fresh(f, now1))
	}
	// Past the next change: walked again, with the new step.
	now2 := e.next.Add(time.Minute)
	c, _ := p.scoreHistory(f, now2, loc)
	if !reflect.DeepEqual(c, fresh(f, now2)) || len(c) != len(a)+1 {
		t.Fatalf("after the next change: %d points, want %d", len(c), len(a)+1)
	}
	// A new record: the events differ, walked again.
	file("W-3", now0.AddDate(0, 0, -1))
	f2, _ := p.reg.Facts(ctx, subject)
	now3 := p.reg.Now()
	d, _ := p.scoreHistory(f2, now3, loc)
	if !reflect.DeepEqual(d, fresh(f2, now3)) || len(d) != len(a)+1 {
		t.Fatalf("after a new record: %d points, want %d", len(d), len(a)+1)
	}
}

func TestSigninRateLimit(t *testing.T) {
	p := newBare(t)
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p.signinLimitAt = func() time.Time { return clock }
	const csrfValue = "0123456789abcdef0123456789abcdef"
	attempt := func(addr string) *httptest.ResponseRecorder {
		form := url.Values{"credential": {"credo_not-a-real-token"}, "csrf": {p.csrfFor(csrfValue, nil)}}
		r := httptest.NewRequest("POST", "/signin", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: csrfCookie, Value: csrfValue})
		r.RemoteAddr = addr
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, r)
		return rec
	}
	// Ten attempts a minute: the first ten are answered (unknown token).
	for i := range 10 {
		if rec := attempt("192.0.2.7:4000"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d", i+1, rec.Code)
		}
	}
	// The eleventh, from another port of the same address, is refused.
	rec := attempt("192.0.2.7:4001")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("11th attempt: status %d", rec.Code)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "6" {
		t.Errorf("Retry-After %q, want 6 (a token every 6 s)", ra)
	}
	if !strings.Contains(rec.Body.String(), "Too many sign-in attempts") {
		t.Errorf("429 page: %.300s", rec.Body.String())
	}
	// Another address is not affected.
	if rec := attempt("198.51.100.1:4000"); rec.Code != http.StatusUnauthorized {
		t.Errorf("another address: status %d", rec.Code)
	}
	// Six seconds later one more attempt is allowed, and only one.
	clock = clock.Add(6 * time.Second)
	if rec := attempt("192.0.2.7:4000"); rec.Code != http.StatusUnauthorized {
		t.Errorf("after 6 s: status %d", rec.Code)
	}
	if rec := attempt("192.0.2.7:4000"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("second attempt after 6 s: status %d", rec.Code)
	}
	// The form itself is never limited.
	r := httptest.NewRequest("GET", "/signin", nil)
	r.RemoteAddr = "192.0.2.7:4000"
	rec = httptest.NewRecorder()
	p.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Errorf("GET /signin: status %d", rec.Code)
	}
}
