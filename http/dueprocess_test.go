package http_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credo"
	credohttp "credo/http"
	"credo/registry"
	"credo/sqlite"
)

// openDispute files an objection as the subject to a fresh record about
// it, and returns the dispute.
func (e *env) openDispute(subject, caseRef string) registry.DisputeCase {
	e.t.Helper()
	rec := e.file(subject, caseRef)
	r := e.do("POST", "/v1/disputes", tokenOf(subject), map[string]any{"record_id": rec.ID, "grounds": "not mine"})
	if r.status != http.StatusCreated {
		e.t.Fatalf("opening a dispute: %d %s", r.status, r.body)
	}
	var d registry.DisputeCase
	r.decode(e.t, &d)
	return d
}

// applyRepair applies as the subject for repair of a fresh record about
// it (decided in January 2025: repairable from January 2026).
func (e *env) applyRepair(subject, caseRef string) registry.RepairCase {
	e.t.Helper()
	rec := e.file(subject, caseRef)
	r := e.do("POST", "/v1/repairs", tokenOf(subject), map[string]any{"record_id": rec.ID, "statement": "paid in full", "commitment": true})
	if r.status != http.StatusCreated {
		e.t.Fatalf("applying for repair: %d %s", r.status, r.body)
	}
	var a registry.RepairCase
	r.decode(e.t, &a)
	return a
}

func tokenOf(subject string) string {
	switch subject {
	case alice:
		return "alice"
	case bob:
		return "bob"
	}
	return "admin"
}

// wantProblem checks a refusal: status, problem type and the field named.
func wantProblem(t *testing.T, r *response, status int, kind, field string) credohttp.Problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	p := r.problem(t)
	if p.Type != credohttp.ProblemBase+kind {
		t.Errorf("problem type %s, want %s", p.Type, kind)
	}
	if p.Field != field {
		t.Errorf("problem field %q, want %q: %s", p.Field, field, p.Detail)
	}
	return p
}

func TestDisputeEndpoints(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1})
	rec := e.file(alice, "(2025)D-1")

	t.Run("bad input", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			body  any
			code  int
			kind  string
			field string
		}{
			{"no grounds", map[string]any{"record_id": rec.ID}, 400, "invalid", "grounds"},
			{"blank grounds", map[string]any{"record_id": rec.ID, "grounds": "  "}, 400, "invalid", "grounds"},
			{"no record", map[string]any{"grounds": "x"}, 400, "invalid", "record_id"},
			{"record as a string", map[string]any{"record_id": "1", "grounds": "x"}, 400, "invalid", "record_id"},
			{"unknown field", map[string]any{"record_id": rec.ID, "grounds": "x", "urgent": true}, 400, "invalid", "urgent"},
			{"bad evidence digest", map[string]any{"record_id": rec.ID, "grounds": "x", "evidence_sha256": "abc"}, 400, "invalid", "evidence_sha256"},
			{"no such record", map[string]any{"record_id": 99999, "grounds": "x"}, 404, "not_found", "record_id"},
			{"appeal with nothing to appeal", map[string]any{"record_id": rec.ID, "grounds": "x", "appeal": true}, 409, "conflict", "appeal"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantProblem(t, e.do("POST", "/v1/disputes", "alice", tc.body), tc.code, tc.kind, tc.field)
			})
		}
		wantProblem(t, e.do("POST", "/v1/disputes", "bob", map[string]any{"record_id": rec.ID, "grounds": "x"}), 404, "not_found", "record_id") // as if it did not exist (issue 14 item 14)
	})

	r := e.do("POST", "/v1/disputes", "alice", map[string]any{"record_id": rec.ID, "grounds": "I paid", "evidence_sha256": digest("receipt")})
	if r.status != http.StatusCreated {
		t.Fatalf("open: %d %s", r.status, r.body)
	}
	var d registry.DisputeCase
	r.decode(t, &d)
	// The test policy: review 15 d, no profile, in force when overdue.
	if got := d.Deadline.Sub(d.OpenedAt); got != 15*24*time.Hour {
		t.Errorf("deadline %v after opening, want 15 days", got)
	}
	if d.Decider != "court.test" || d.Procedure != "default" || d.OverdueRule != "in_force" || d.DaysLeft != 15 || d.Overdue ||
		d.State != credo.StateOpen || d.OpenedBy != "subject" || d.Subject != alice || d.EvidenceSHA256 != digest("receipt") {
		t.Errorf("dispute: %+v", d)
	}
	p := wantProblem(t, e.do("POST", "/v1/disputes", "admin", map[string]any{"record_id": rec.ID, "grounds": "again"}), 409, "conflict", "record_id")
	if !strings.Contains(p.Detail, "already has an open dispute") {
		t.Errorf("conflict detail: %s", p.Detail)
	}

	t.Run("lists", func(t *testing.T) {
		count := func(token, query string) int {
			t.Helper()
			r := e.do("GET", "/v1/disputes"+query, token, nil)
			if r.status != 200 {
				t.Fatalf("%s %s: %d %s", token, query, r.status, r.body)
			}
			var l credohttp.DisputeList
			r.decode(t, &l)
			return len(l.Disputes)
		}
		for _, tc := range []struct {
			token, query string
			want         int
		}{
			{"court", "", 1}, {"water", "", 0}, {"alice", "", 1}, {"bob", "", 0}, {"admin", "", 1},
			{"admin", "?authority=court.test", 1}, {"admin", "?subject=" + bob, 0}, {"court", "?state=decided", 0},
			{"alice", "?state=all&limit=5", 1},
		} {
			if got := count(tc.token, tc.query); got != tc.want {
				t.Errorf("%s GET /v1/disputes%s: %d disputes, want %d", tc.token, tc.query, got, tc.want)
			}
		}
		wantProblem(t, e.do("GET", "/v1/disputes?state=pending", "court", nil), 400, "invalid", "state")
		wantProblem(t, e.do("GET", "/v1/disputes?limit=0", "court", nil), 400, "invalid", "limit")
		wantProblem(t, e.do("GET", "/v1/disputes?subject=123", "admin", nil), 400, "invalid", "subject")
		wantProblem(t, e.do("GET", "/v1/disputes?authority=court.nowhere", "admin", nil), 400, "invalid", "authority")
		wantProblem(t, e.do("GET", "/v1/disputes?authority=utility.water", "court", nil), 403, "forbidden", "authority")
		wantProblem(t, e.do("GET", "/v1/disputes?subject="+bob, "alice", nil), 403, "forbidden", "subject")
		wantProblem(t, e.do("GET", "/v1/disputes?sort=deadline", "court", nil), 400, "invalid", "sort")
	})

	path := "/v1/disputes/" + itoa(d.ID) + "/decision"
	wantProblem(t, e.do("POST", path, "water", map[string]string{"outcome": "upheld", "reason": "x"}), 403, "forbidden", "")
	wantProblem(t, e.do("POST", path, "court", map[string]string{"outcome": "dismissed", "reason": "x"}), 400, "invalid", "outcome")
	wantProblem(t, e.do("POST", path, "court", map[string]string{"outcome": "upheld"}), 400, "invalid", "reason")
	wantProblem(t, e.do("POST", "/v1/disputes/99999/decision", "court", map[string]string{"outcome": "upheld", "reason": "x"}), 404, "not_found", "")
	wantProblem(t, e.do("POST", "/v1/disputes/x/decision", "court", map[string]string{"outcome": "upheld", "reason": "x"}), 400, "invalid", "id")
	r = e.do("POST", path, "court", map[string]string{"outcome": "upheld", "reason": "no payment on file"})
	if r.status != 200 {
		t.Fatalf("decide: %d %s", r.status, r.body)
	}
	r.decode(t, &d)
	if d.State != credo.StateDecided || d.Outcome != "upheld" || d.DecidedBy != "court.test" || d.AppealTo != "court.appeal" ||
		d.AppealBy.Sub(d.DecidedAt) != 10*24*time.Hour {
		t.Errorf("decided: %+v", d)
	}
	wantProblem(t, e.do("POST", path, "admin", map[string]string{"outcome": "revoked", "reason": "x"}), 409, "conflict", "")

	// The appeal goes to the appellate court: the first court may not
	// decide it; an admin may.
	r = e.do("POST", "/v1/disputes", "alice", map[string]any{"record_id": rec.ID, "grounds": "the court ignored my receipt", "appeal": true})
	if r.status != http.StatusCreated {
		t.Fatalf("appeal: %d %s", r.status, r.body)
	}
	var a registry.DisputeCase
	r.decode(t, &a)
	if !a.Appeal || a.Decider != "court.appeal" || a.Deadline.Sub(a.OpenedAt) != 15*24*time.Hour {
		t.Errorf("appeal: %+v", a)
	}
	if n := len(e.listDisputes(t, "court")); n != 0 {
		t.Errorf("the appeal is in the first court's queue (%d)", n)
	}
	wantProblem(t, e.do("POST", "/v1/disputes/"+itoa(a.ID)+"/decision", "court", map[string]string{"outcome": "upheld", "reason": "x"}), 403, "forbidden", "")
	r = e.do("POST", "/v1/disputes/"+itoa(a.ID)+"/decision", "admin", map[string]string{"outcome": "revoked", "reason": "receipt verified"})
	if r.status != 200 {
		t.Fatalf("admin decides the appeal: %d %s", r.status, r.body)
	}
	if c := e.check("airline", alice, "aviation"); c.Decision != "allow" {
		t.Errorf("after revocation on appeal: %s", c.Decision)
	}
	wantProblem(t, e.do("POST", "/v1/disputes", "alice", map[string]any{"record_id": rec.ID, "grounds": "x"}), 409, "conflict", "record_id")
}

func (e *env) listDisputes(t *testing.T, token string) []registry.DisputeCase {
	t.Helper()
	r := e.do("GET", "/v1/disputes", token, nil)
	if r.status != 200 {
		t.Fatalf("GET /v1/disputes: %d %s", r.status, r.body)
	}
	var l credohttp.DisputeList
	r.decode(t, &l)
	return l.Disputes
}

func TestRepairEndpoints(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1})
	rec := e.file(alice, "(2025)R-1")

	for _, tc := range []struct {
		name  string
		body  any
		code  int
		kind  string
		field string
	}{
		{"no statement", map[string]any{"record_id": rec.ID, "commitment": true}, 400, "invalid", "statement"},
		{"no commitment", map[string]any{"record_id": rec.ID, "statement": "paid"}, 400, "invalid", "commitment"},
		{"commitment not a boolean", map[string]any{"record_id": rec.ID, "statement": "paid", "commitment": "yes"}, 400, "invalid", "commitment"},
		{"no record", map[string]any{"statement": "paid", "commitment": true}, 400, "invalid", "record_id"},
		{"no such record", map[string]any{"record_id": 99999, "statement": "paid", "commitment": true}, 404, "not_found", "record_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, e.do("POST", "/v1/repairs", "alice", tc.body), tc.code, tc.kind, tc.field)
		})
	}
	wantProblem(t, e.do("POST", "/v1/repairs", "bob", map[string]any{"record_id": rec.ID, "statement": "paid", "commitment": true}), 404, "not_found", "record_id")

	t.Run("before the minimum", func(t *testing.T) {
		loc, _ := time.LoadLocation("Asia/Shanghai")
		today := time.Now().In(loc)
		q := judgment(alice, "(2026)R-recent")
		q["decided_at"] = today.Format("2006-01-02")
		r := e.do("POST", "/v1/records", "court", q)
		if r.status != http.StatusCreated {
			t.Fatalf("filing: %d %s", r.status, r.body)
		}
		var recent credo.Record
		r.decode(t, &recent)
		p := wantProblem(t, e.do("POST", "/v1/repairs", "alice", map[string]any{"record_id": recent.ID, "statement": "paid", "commitment": true}), 409, "conflict", "")
		// JUDGMENT_DEFAULT: repair after 1 year.
		if want := today.AddDate(1, 0, 0).Format("2006-01-02"); p.RepairFrom != want || !strings.Contains(p.Detail, want) {
			t.Errorf("repair_from %q (%s), want %s", p.RepairFrom, p.Detail, want)
		}
	})

	r := e.do("POST", "/v1/repairs", "alice", map[string]any{"record_id": rec.ID, "statement": "paid in full", "commitment": true})
	if r.status != http.StatusCreated {
		t.Fatalf("apply: %d %s", r.status, r.body)
	}
	var a registry.RepairCase
	r.decode(t, &a)
	// 10 working days: 12 calendar days at least (from a Sunday), more
	// across holidays.
	if a.Decider != "court.test" || a.State != credo.StateOpen || a.Deadline.Sub(a.AppliedAt) < 12*24*time.Hour || a.DaysLeft < 12 || !a.Commitment {
		t.Errorf("application: %+v", a)
	}
	p := wantProblem(t, e.do("POST", "/v1/repairs", "alice", map[string]any{"record_id": rec.ID, "statement": "again", "commitment": true}), 409, "conflict", "")
	if p.RepairFrom != "" || !strings.Contains(p.Detail, "pending") {
		t.Errorf("second application: %+v", p)
	}
	for token, want := range map[string]int{"court": 1, "water": 0, "alice": 1, "bob": 0, "admin": 1} {
		r := e.do("GET", "/v1/repairs", token, nil)
		var l credohttp.RepairList
		r.decode(t, &l)
		if r.status != 200 || len(l.Repairs) != want {
			t.Errorf("%s GET /v1/repairs: %d, %d items, want %d", token, r.status, len(l.Repairs), want)
		}
	}

	path := "/v1/repairs/" + itoa(a.ID) + "/decision"
	wantProblem(t, e.do("POST", path, "water", map[string]string{"outcome": "approved"}), 403, "forbidden", "")
	wantProblem(t, e.do("POST", path, "court", map[string]string{}), 400, "invalid", "outcome")
	wantProblem(t, e.do("POST", path, "court", map[string]string{"outcome": "maybe"}), 400, "invalid", "outcome")
	wantProblem(t, e.do("POST", path, "court", map[string]string{"outcome": "refused"}), 400, "invalid", "reason")
	if c := e.check("airline", alice, "aviation"); c.Decision != "deny" {
		t.Fatalf("before repair: %s", c.Decision)
	}
	r = e.do("POST", path, "court", map[string]string{"outcome": "approved", "reason": "obligation performed"})
	if r.status != 200 {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	r.decode(t, &a)
	if a.Outcome != credo.RepairApproved || a.DecidedBy != "court.test" {
		t.Errorf("approved: %+v", a)
	}
	wantProblem(t, e.do("POST", path, "admin", map[string]string{"outcome": "refused", "reason": "x"}), 409, "conflict", "")
	// The only record that listed alice is repaired... but the recent one
	// still lists her; her file shows the repaired record.
	r = e.do("GET", "/v1/subjects/"+alice, "alice", nil)
	if !strings.Contains(string(r.body), `"status":"repaired"`) {
		t.Errorf("no repaired record in the subject's file: %s", r.body)
	}
	r = e.do("GET", "/v1/repairs?state=decided", "alice", nil)
	var l credohttp.RepairList
	r.decode(t, &l)
	if len(l.Repairs) != 1 || l.Repairs[0].Outcome != credo.RepairApproved {
		t.Errorf("decided applications: %+v", l.Repairs)
	}
}

// TestDueProcessMetrics scrapes the deadline gauges over simulated time.
func TestDueProcessMetrics(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db, err := sqlite.OpenOptions(filepath.Join(t.TempDir(), "m.db"), sqlite.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := registry.Open(ctx, db, registry.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "policy.yaml", src, time.Time{}); err != nil {
		t.Fatal(err)
	}
	tokens, checks := stores(db)
	secret, hash := credo.NewTokenSecret()
	if err := tokens.CreateToken(ctx, &credo.Token{ID: "tok-ops", Hash: hash, Role: credo.RoleAuditor, Created: now}); err != nil {
		t.Fatal(err)
	}
	srv := credohttp.NewServer(reg, tokens, checks, credohttp.Options{})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	scrape := func() string {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+secret) // per-authority figures: auditor or admin
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	want := func(m string, lines ...string) {
		t.Helper()
		for _, l := range lines {
			if !strings.Contains(m, l+"\n") {
				t.Errorf("metrics lack %q", l)
			}
		}
	}
	want(scrape(), `credo_disputes_open{authority="court.test"} 0`, `credo_repairs_overdue{authority="utility.water"} 0`)

	res, err := reg.FileRecord(ctx, &credo.Record{Subject: alice, Rule: "JUDGMENT_DEFAULT", Authority: "court.test", CaseRef: "M-1",
		DecidedAt: now.AddDate(-2, 0, 0), EvidenceSHA256: digest("m1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.OpenDispute(ctx, res.Record.ID, "not mine", "", false, false, registry.ActorSubject); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.ApplyRepair(ctx, res.Record.ID, "paid", true, registry.ActorSubject); err != nil {
		t.Fatal(err)
	}
	want(scrape(), `credo_disputes_open{authority="court.test"} 1`, `credo_disputes_overdue{authority="court.test"} 0`,
		`credo_repairs_open{authority="court.test"} 1`, `credo_repairs_overdue{authority="court.test"} 0`)
	// 16 days later: past the 15-day review and the 10 working days.
	now = now.AddDate(0, 0, 16)
	want(scrape(), `credo_disputes_open{authority="court.test"} 1`, `credo_disputes_overdue{authority="court.test"} 1`,
		`credo_repairs_overdue{authority="court.test"} 1`, `credo_disputes_overdue{authority="utility.water"} 0`)
}

// An objection with new information has a longer deadline (the review
// plus the extension): one opened later without it is due first, and a
// limited queue must show that one, not the first by id.
func TestG08QueueSortsByDeadlineBeforeLimit(t *testing.T) {
	e := newEnv(t, credohttp.Options{RateLimit: -1})
	src := strings.Replace(readFile(t, testPolicy), "overdue: in_force}", "extension: 30d, overdue: in_force}", 1)
	if _, _, err := e.reg.Publish(context.Background(), "policy.yaml", []byte(src), e.reg.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	late := e.file(alice, "(2025)Q-1")
	if r := e.do("POST", "/v1/disputes", "alice", map[string]any{"record_id": late.ID, "grounds": "new receipt", "new_information": true}); r.status != http.StatusCreated {
		t.Fatalf("open: %d %s", r.status, r.body)
	}
	soon := e.openDispute(alice, "(2025)Q-2")
	for _, path := range []string{"/v1/disputes?limit=1", "/v1/disputes?limit=1&authority=court.test"} {
		var l credohttp.DisputeList
		e.do("GET", path, "admin", nil).decode(t, &l)
		if ds := l.Disputes; len(ds) != 1 || ds[0].ID != soon.ID {
			t.Errorf("%s: %+v, want only dispute %d (due %s)", path, l.Disputes, soon.ID, soon.Deadline)
		}
	}
	if q, _ := e.reg.Disputes(context.Background(), credo.DisputeFilter{State: credo.StateOpen, Limit: 1}, "court.test"); len(q) != 1 || q[0].ID != soon.ID {
		t.Errorf("registry queue, limit 1: %+v", q)
	}
}
