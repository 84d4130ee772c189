package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"credo"
	"credo/engine"
	credohttp "credo/http"
	"credo/ingest"
)

// forbiddenKeys are what a service provider must never see (principle 7).
var forbiddenKeys = []string{"score", "tier", "records", "record_id", "contributions", "via"}

// keysOf returns every object key in a JSON document, at any depth.
func keysOf(t testing.TB, b []byte) map[string]bool {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	keys := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				keys[k] = true
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return keys
}

func TestEndToEnd(t *testing.T) {
	e := newEnv(t, credohttp.Options{})

	// An authority files a record; re-filing it is a no-op; a different
	// record under the same case reference is a conflict.
	rec := e.file(alice, "(2025)Test-001")
	if rec.ID == 0 || rec.Subject != alice || rec.Authority != "court.test" {
		t.Fatalf("filed %+v", rec)
	}
	r := e.do("POST", "/v1/records", "court", judgment(alice, "(2025)Test-001"))
	var again credo.Record
	r.decode(t, &again)
	if r.status != http.StatusOK || again.ID != rec.ID {
		t.Fatalf("re-filing: status %d, id %d, want 200 and %d", r.status, again.ID, rec.ID)
	}
	bad := judgment(alice, "(2025)Test-001")
	bad["evidence_sha256"] = digest("other")
	if r := e.do("POST", "/v1/records", "court", bad); r.status != http.StatusConflict || r.problem(t).Type != credohttp.ProblemBase+"conflict" {
		t.Fatalf("conflicting re-filing: status %d: %s", r.status, r.body)
	}

	// The airline checks: alice is denied (with reasons, nothing more),
	// bob is allowed.
	r = e.do("POST", "/v1/checks", "airline", map[string]string{"subject": alice, "sector": "aviation"})
	if r.status != http.StatusOK {
		t.Fatalf("check: %d %s", r.status, r.body)
	}
	keys := keysOf(t, r.body)
	for _, k := range forbiddenKeys {
		if keys[k] {
			t.Errorf("a check discloses %q: %s", k, r.body)
		}
	}
	var denied credohttp.CheckResult
	r.decode(t, &denied)
	if denied.Decision != engine.Deny || len(denied.Reasons) != 1 {
		t.Fatalf("check of alice: %s", r.body)
	}
	reason := denied.Reasons[0]
	if reason.Code != "flight-ban" || reason.LegalBasis == "" || reason.Contest == "" || !slices.Equal(reason.Lists, []string{"debtors"}) {
		t.Errorf("reason %+v", reason)
	}
	if denied.Contest == "" || denied.CheckID == "" || denied.Policy != e.policy || !slices.Equal(denied.Measures, []string{"flight-ban"}) {
		t.Errorf("check result %+v", denied)
	}
	if allowed := e.check("airline", bob, "aviation"); allowed.Decision != engine.Allow || len(allowed.Reasons) != 0 || allowed.Contest != "" {
		t.Errorf("check of bob: %+v", allowed)
	}
	// Rail is denied too; the internet is not affected.
	if d := e.check("airline", alice, "rail"); d.Decision != engine.Deny {
		t.Errorf("rail: %+v", d)
	}
	if d := e.check("isp", alice, "internet"); d.Decision != engine.Allow {
		t.Errorf("internet: %+v", d)
	}

	// The subject reads its file: the record, the listing, the decisions.
	r = e.do("GET", "/v1/subjects/"+alice, "alice", nil)
	if r.status != http.StatusOK {
		t.Fatalf("state: %d %s", r.status, r.body)
	}
	var st credohttp.StateResponse
	r.decode(t, &st)
	if len(st.Records) != 1 || st.Records[0].Record.ID != rec.ID || st.Listing("debtors") == nil {
		t.Errorf("state: %s", r.body)
	}
	if len(st.Decisions) != 2 || st.Decisions[0].Decision != engine.Deny || len(st.Decisions[0].Reasons[0].Records) != 1 {
		t.Errorf("state decisions: %+v", st.Decisions)
	}

	// The access log shows the airline's checks.
	r = e.do("GET", "/v1/subjects/"+alice+"/checks", "alice", nil)
	var log credohttp.SubjectChecks
	r.decode(t, &log)
	if r.status != http.StatusOK || len(log.Checks) != 3 {
		t.Fatalf("access log: %d %s", r.status, r.body)
	}
	var logged *credo.CheckEntry
	for i := range log.Checks {
		if log.Checks[i].ID == denied.CheckID {
			logged = &log.Checks[i]
		}
	}
	if logged == nil || logged.Checker != "tok-airline" || logged.Org != "airline" || logged.Sector != "aviation" || logged.Decision != engine.Deny {
		t.Fatalf("the airline's check is not in the access log: %s", r.body)
	}
	if log.Checks[0].ID < log.Checks[1].ID {
		t.Errorf("access log not newest first: %s", r.body)
	}

	// Replaying the check by id gives the same decision, with its reasons.
	r = e.do("GET", "/v1/checks/"+denied.CheckID, "alice", nil)
	var rp credohttp.Replay
	r.decode(t, &rp)
	if r.status != http.StatusOK || !rp.Matches || rp.Decision.Decision != engine.Deny || rp.Check.ID != denied.CheckID {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
	if len(rp.Decision.Reasons) != 1 || !slices.Equal(rp.Decision.Reasons[0].Records, []int64{rec.ID}) {
		t.Errorf("replay reasons: %+v", rp.Decision.Reasons)
	}

	// The history shows the score falling with the record.
	r = e.do("GET", "/v1/subjects/"+alice+"/history?from=2024-01-01", "alice", nil)
	var h credohttp.History
	r.decode(t, &h)
	var civic []credohttp.HistoryPoint
	for _, p := range h.Points {
		if p.Scheme == "civic" {
			civic = append(civic, p)
		}
	}
	if r.status != http.StatusOK || len(civic) != 2 || civic[0].Score != 1000 || civic[1].Score != 970 || civic[1].RecordID != rec.ID || !civic[1].At.Equal(rec.DecidedAt) {
		t.Errorf("history: %d %s", r.status, r.body)
	}

	// The public list shows the published fields only.
	r = e.publicList("/v1/lists/debtors?q=test+person")
	var pl credohttp.PublicList
	r.decode(t, &pl)
	if r.status != http.StatusOK || pl.Total != 1 || len(pl.Entries) != 1 {
		t.Fatalf("public list: %d %s", r.status, r.body)
	}
	for k := range pl.Entries[0] {
		if !slices.Contains(pl.Fields, k) {
			t.Errorf("public list shows %q, not a published field (%v)", k, pl.Fields)
		}
	}
	if pl.Entries[0]["case_ref"] != "(2025)Test-001" || pl.Entries[0]["authority"] != "Test People's Court" {
		t.Errorf("public entry %v", pl.Entries[0])
	}
	keys = keysOf(t, r.body)
	for _, k := range []string{"score", "tier"} {
		if keys[k] {
			t.Errorf("the public list discloses %q", k)
		}
	}
	if r := e.do("GET", "/v1/lists/debtors?q="+alice, "", nil); !strings.Contains(string(r.body), `"total":1`) {
		t.Errorf("lookup by identifier: %s", r.body)
	}
	if r := e.do("GET", "/v1/lists/debtors?q=nobody", "", nil); !strings.Contains(string(r.body), `"total":0`) {
		t.Errorf("lookup of nobody: %s", r.body)
	}
	if r := e.do("GET", "/v1/lists/low-credit", "", nil); r.status != http.StatusNotFound {
		t.Errorf("a non-public list: status %d", r.status)
	}

	// The auditor sees aggregates.
	r = e.do("GET", "/v1/stats", "auditor", nil)
	var stats credohttp.Stats
	r.decode(t, &stats)
	if r.status != http.StatusOK || stats.Subjects != 1 {
		t.Fatalf("stats: %d %s", r.status, r.body)
	}
	var aviation credohttp.CheckStat
	for _, c := range stats.Checks {
		if c.Sector == "aviation" {
			aviation = c
		}
	}
	if aviation.Checks != 2 || aviation.Denials != 1 || stats.ChecksSource != "check_log" {
		t.Errorf("aviation checks: %+v from %s", stats.Checks, stats.ChecksSource)
	}
	for _, l := range stats.Lists {
		if l.List == "debtors" && l.Size != 1 {
			t.Errorf("list sizes: %+v", stats.Lists)
		}
	}

	// Fulfilling the obligation ends the listing: the airline now allows.
	r = e.do("POST", "/v1/records/"+itoa(rec.ID)+"/fulfil", "court", map[string]string{"reason": "paid in full"})
	if r.status != http.StatusOK {
		t.Fatalf("fulfil: %d %s", r.status, r.body)
	}
	if d := e.check("airline", alice, "aviation"); d.Decision != engine.Allow {
		t.Errorf("after fulfilment: %+v", d)
	}
	// The earlier check still replays as it was.
	r = e.do("GET", "/v1/checks/"+denied.CheckID, "admin", nil)
	r.decode(t, &rp)
	if !rp.Matches || rp.Decision.Decision != engine.Deny {
		t.Errorf("replay after fulfilment: %s", r.body)
	}
}

func TestClient(t *testing.T) {
	e := newEnv(t, credohttp.Options{})
	ctx := context.Background()
	court := credohttp.NewClient(e.ts.URL, e.secret["court"])
	rec := &credo.Record{Subject: alice, Rule: "JUDGMENT_DEFAULT", CaseRef: "(2025)Client-1",
		DecidedAt: mustTime(t, "2025-02-01T00:00:00Z"), EvidenceSHA256: digest("c1")}
	fr, err := court.FileRecord(ctx, rec)
	if err != nil || !fr.Created || fr.Record.Authority != "court.test" {
		t.Fatalf("FileRecord: %+v, %v", fr, err)
	}
	if fr, err := court.FileRecord(ctx, rec); err != nil || fr.Created {
		t.Fatalf("FileRecord again: %+v, %v", fr, err)
	}
	rec.EvidenceSHA256 = digest("c2")
	if _, err := court.FileRecord(ctx, rec); credo.ErrorCode(err) != credo.ECONFLICT {
		t.Fatalf("conflicting FileRecord: %v", err)
	}
	batch := `{"subject":"` + bob + `","rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"b1","decided_at":"2025-01-01","evidence_sha256":"` + digest("b1") + `"}
{"subject":"110105194912310021","rule":"JUDGMENT_DEFAULT","authority":"court.test","case_ref":"b2","decided_at":"2025-01-01","evidence_sha256":"` + digest("b2") + `"}
`
	br, err := court.FileBatch(ctx, strings.NewReader(batch), ingest.NDJSON)
	if err != nil || br.Filed != 1 || br.RejectedTotal != 1 || br.Rejected[0].Line != 2 || br.Rejected[0].Field != "subject" {
		t.Fatalf("FileBatch: %+v, %v", br, err)
	}
	csv := "subject,rule,authority,case_ref,decided_at,evidence_sha256\n" + carol + ",JUDGMENT_DEFAULT,court.test,c1,2025-01-01," + digest("csv") + "\n"
	if br, err := court.FileBatch(ctx, strings.NewReader(csv), ingest.CSV); err != nil || br.Filed != 1 {
		t.Fatalf("FileBatch CSV: %+v, %v", br, err)
	}

	airline := credohttp.NewClient(e.ts.URL, e.secret["airline"])
	d, err := airline.Check(ctx, alice, "aviation")
	if err != nil || d.Decision != engine.Deny || d.Reasons[0].Code != "flight-ban" {
		t.Fatalf("Check: %+v, %v", d, err)
	}
	if _, err := airline.Check(ctx, alice, "internet"); credo.ErrorCode(err) != credo.EFORBIDDEN {
		t.Fatalf("Check of another sector: %v", err)
	}
	var e2 *credo.Error
	if _, err := airline.Check(ctx, "123", "aviation"); credo.ErrorCode(err) != credo.EINVALID || !asErr(err, &e2) || e2.Field != "subject" {
		t.Fatalf("Check of a bad identifier: %v", err)
	}
	ds, err := airline.CheckBatch(ctx, "aviation", []string{alice, "nonsense", bob})
	if err != nil || len(ds) != 3 || ds[0].Decision.Decision != engine.Deny || ds[1].Err == nil || ds[2].Decision.Decision != engine.Deny || ds[0].Decision.Subject != alice {
		t.Fatalf("CheckBatch: %+v, %v", ds, err)
	}
	if credo.ErrorCode(ds[1].Err) != credo.EINVALID {
		t.Errorf("CheckBatch error: %v", ds[1].Err)
	}

	st, err := credohttp.NewClient(e.ts.URL, e.secret["alice"]).State(ctx, alice, timeZero, timeZero)
	if err != nil || st.Subject != alice || len(st.Records) != 1 {
		t.Fatalf("State: %+v, %v", st, err)
	}
	if _, err := credohttp.NewClient(e.ts.URL, e.secret["alice"]).State(ctx, bob, timeZero, timeZero); credo.ErrorCode(err) != credo.EFORBIDDEN {
		t.Fatalf("State of another subject: %v", err)
	}
	if _, err := credohttp.NewClient(e.ts.URL, "credo_nonsense").Check(ctx, alice, "aviation"); credo.ErrorCode(err) != credo.EUNAUTHORIZED {
		t.Fatalf("unknown token: %v", err)
	}
}

// TestStatsWithoutCounter counts checks in memory when the check log
// cannot.
func TestStatsWithoutCounter(t *testing.T) {
	e := newEnvWith(t, credohttp.Options{}, func(l credo.CheckLog) credo.CheckLog { return &countingLog{CheckLog: l} })
	e.file(alice, "(2025)Stats-1")
	e.check("airline", alice, "aviation")
	e.check("airline", bob, "aviation")
	e.check("isp", bob, "internet")
	r := e.do("GET", "/v1/stats", "admin", nil)
	var stats credohttp.Stats
	r.decode(t, &stats)
	if stats.ChecksSource != "memory" || len(stats.Checks) != 2 || stats.Checks[0].Sector != "aviation" || stats.Checks[0].Checks != 2 || stats.Checks[0].Denials != 1 || stats.Checks[1].Checks != 1 {
		t.Errorf("stats: %s", r.body)
	}
	if len(stats.Schemes) != 2 || stats.Schemes[0].Tiers["A"] != 1 {
		t.Errorf("schemes: %+v", stats.Schemes)
	}
}
