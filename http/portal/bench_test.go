package portal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"credo"
)

// richSubject files n records of assorted rules about one person over the
// last three years, and returns the person and a subject token's secret.
func (e *env) richSubject(n int) (string, string) {
	e.t.Helper()
	ctx := context.Background()
	subject := ric(500)
	if _, err := e.reg.Append(ctx, &credo.Event{Type: credo.EventConsentGiven, Subject: subject, Actor: credo.RoleSubject,
		Consent: &credo.Consent{Scheme: "civic", At: time.Now().AddDate(-3, 0, 0), Given: true}}); err != nil {
		e.t.Fatal(err)
	}
	kinds := []struct{ rule, authority string }{
		{"LATE_UTILITY_FEES", "utility.beijing.water"},
		{"VOLUNTEER_SERVICE", "volunteer.beijing"},
		{"BLOOD_DONATION", "blood.beijing"},
		{"DOG_OFF_LEASH", "police.beijing.dogs"},
		{"DEBT_JUDGMENT", "court.beijing.chaoyang"},
	}
	now := time.Now()
	var recs []*credo.Record
	for i := 0; i < n; i++ {
		k := kinds[i%len(kinds)]
		decided := now.Add(-3 * 365 * 24 * time.Hour / time.Duration(n+1) * time.Duration(n-i))
		r := &credo.Record{Subject: subject, SubjectName: "Zhao Lei", Rule: k.rule, Authority: k.authority,
			CaseRef: fmt.Sprintf("BENCH-%04d", i), DecidedAt: decided, NotifiedAt: decided, EvidenceSHA256: digest(fmt.Sprint(i))}
		if k.rule == "VOLUNTEER_SERVICE" {
			r.Quantity = 4
		}
		recs = append(recs, r)
	}
	_, refused, err := e.reg.FileEach(ctx, recs)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, err := range refused {
		if err != nil {
			e.t.Fatalf("filing record %d: %v", i, err)
		}
	}
	secret, hash := credo.NewTokenSecret()
	if err := e.db.CreateToken(ctx, &credo.Token{ID: "tok-rich", Hash: hash, Role: credo.RoleSubject, Subject: subject, Created: now}); err != nil {
		e.t.Fatal(err)
	}
	return subject, secret
}

// BenchmarkCitizenPage renders the citizen page of a subject with 200
// records (state, decisions, score history with its SVG chart, notices,
// disputes, the access log) in process, as a first view and as a repeat
// view (the score history from the cache). The baseline is the JSON API's
// GET /v1/subjects/{id} for the same subject (its state only), measured
// in the same run, and its GET /v1/subjects/{id}/history (the score
// history the page's chart plots, computed the same way).
func BenchmarkCitizenPage(b *testing.B) {
	e := newEnv(b)
	subject, secret := e.richSubject(200)
	for range 20 {
		e.checkAPI(subject, "aviation")
	}
	v := e.visitor()
	if pg := v.signIn(secret); pg.status != http.StatusSeeOther {
		b.Fatalf("sign-in: %d", pg.status)
	}
	var cookie string
	for _, c := range v.client.Jar.Cookies(mustURL(e.ts.URL)) {
		if c.Name == "credo_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	handler := e.srv.Handler()
	page := func(b *testing.B, first bool) {
		b.ReportAllocs()
		var size int
		for b.Loop() {
			if first {
				e.portal.ForgetHistories()
			}
			req := httptest.NewRequest("GET", "/me", nil)
			req.Header.Set("Cookie", cookie)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d", rec.Code)
			}
			size = rec.Body.Len()
		}
		b.ReportMetric(float64(size), "bytes/page")
	}
	// A first view walks the whole score history; a repeat view takes it
	// from the cache (exact until the next change or a new event).
	b.Run("portal-first", func(b *testing.B) { page(b, true) })
	b.Run("portal-repeat", func(b *testing.B) { page(b, false) })
	b.Run("api-history", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest("GET", "/v1/subjects/"+subject+"/history", nil)
			req.Header.Set("Authorization", "Bearer "+secret)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
	b.Run("api-state", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest("GET", "/v1/subjects/"+subject, nil)
			req.Header.Set("Authorization", "Bearer "+secret)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
