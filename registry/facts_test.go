package registry_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/policies"
	"credo/policy"
	"credo/registry"
	"credo/simulate"
	"credo/sqlite"
	"credo/synth"
)

// logOnly hides the store's facts projection (and every other optional
// interface): readers fall back to the log.
type logOnly struct{ credo.RegistryStore }

// factsCity files a generated city (records, links, consents) and a
// share of every other event the engine reads (disputes opened and
// decided, revocations, fulfilments, repairs, a link ended), and returns
// its store and a registry over it at now.
func factsCity(t *testing.T, people int) (*sqlite.DB, *registry.Registry, *clock, string) {
	t.Helper()
	ctx := context.Background()
	pol, err := policy.Parse("beijing.yaml", policies.Beijing)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, pol.Location())
	c := &clock{end.Add(12 * time.Hour)}
	clock := c.now
	path := filepath.Join(t.TempDir(), "city.db")
	st, err := sqlite.OpenOptions(path, sqlite.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := registry.Open(ctx, st, registry.Options{NoTable: true, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "beijing.yaml", policies.Beijing, end.AddDate(-5, 0, -1)); err != nil {
		t.Fatal(err)
	}
	city, err := synth.New(synth.Config{People: people, Orgs: people / 10, Years: 5, Seed: 3, End: end, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	var evs []*credo.Event
	city.Links(func(l credo.Link) error {
		evs = append(evs, &credo.Event{Type: credo.EventLinkAdded, Subject: l.Org, Actor: "samr.beijing", Link: &l})
		return nil
	})
	if len(evs) == 0 {
		t.Fatal("the city has no links")
	}
	l := *evs[0].Link
	l.Until = end.AddDate(0, -2, 0)
	evs = append(evs, &credo.Event{Type: credo.EventLinkRemoved, Subject: l.Org, Actor: "samr.beijing", Link: &l})
	city.Consents(0.3, func(subject string, c credo.Consent) error {
		typ := credo.EventConsentGiven
		if !c.Given {
			typ = credo.EventConsentWithdrawn
		}
		evs = append(evs, &credo.Event{Type: typ, Subject: subject, Actor: "subject", Consent: &c})
		return nil
	})
	if _, err := st.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	var recs []*credo.Record
	city.Records(func(r *credo.Record) error {
		rc := *r
		recs = append(recs, &rc)
		return nil
	})
	res, err := st.FileRecords(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	// Every other kind of event, on a share of the records.
	evs = evs[:0]
	var decide []int64
	for i, r := range res {
		rec := r.Record
		at := rec.DecidedAt.AddDate(0, 1, 0)
		switch i % 23 {
		case 1:
			evs = append(evs, &credo.Event{Type: credo.EventRecordRevoked, Actor: rec.Authority, Change: &credo.RecordChange{RecordID: rec.ID, At: at, VoidAbInitio: i%2 == 0}})
		case 2:
			evs = append(evs, &credo.Event{Type: credo.EventRecordFulfilled, Actor: rec.Authority, Change: &credo.RecordChange{RecordID: rec.ID, At: at}})
		case 3:
			evs = append(evs, &credo.Event{Type: credo.EventRepairApproved, Actor: rec.Authority, Change: &credo.RecordChange{RecordID: rec.ID, At: at}})
		case 4, 5:
			evs = append(evs, &credo.Event{Type: credo.EventDisputeOpened, Actor: "subject", Dispute: &credo.Dispute{RecordID: rec.ID, OpenedAt: at, Grounds: "not me", NewInformation: i%2 == 0}})
		}
	}
	stored, err := st.Append(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	evs = evs[:0]
	outcomes := []string{credo.OutcomeUpheld, credo.OutcomeRevoked, credo.OutcomeCorrected}
	for i, ev := range stored {
		if ev.Dispute != nil && i%3 != 0 {
			decide = append(decide, ev.Dispute.ID)
			evs = append(evs, &credo.Event{Type: credo.EventDisputeDecided, Actor: "admin",
				Decision: &credo.DisputeDecision{DisputeID: ev.Dispute.ID, At: ev.Dispute.OpenedAt.AddDate(0, 0, 10), Outcome: outcomes[i%3]}})
		}
	}
	if _, err := st.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if len(decide) == 0 {
		t.Fatal("no disputes decided")
	}
	return st, reg, c, path
}

// TestS03FactsProjectionEqualsLog builds the decision table, a
// simulation and the census of a generated city from the facts
// projection and from the log: they are equal. The projection check
// covers the facts table: a tampered fact is found by the full
// comparison, a missing one by the cheap count.
func TestS03FactsProjectionEqualsLog(t *testing.T) {
	ctx := context.Background()
	st, reg, c, path := factsCity(t, 3000)
	now := c.t

	// The decision table.
	fromFacts, fromLog, err := registry.TablesFromFactsAndLog(ctx, reg, now)
	if err != nil {
		t.Fatal(err)
	}
	if fromFacts.Len() != fromLog.Len() || fromLog.Len() < 1000 {
		t.Fatalf("table sizes: %d from facts, %d from the log", fromFacts.Len(), fromLog.Len())
	}
	var listed int
	if err := st.Subjects(ctx, func(s string) error {
		a, okA := fromFacts.Lookup(s)
		b, okB := fromLog.Lookup(s)
		if okA != okB || a != b {
			t.Errorf("%s: from facts %v (%v), from the log %v (%v)", s, a, okA, b, okB)
		}
		if !b.InForce.Empty() {
			listed++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if listed == 0 {
		t.Fatal("no subject has a measure: the comparison says little")
	}

	// The simulation of a draft.
	cur, ok := reg.Engine().PolicyAt(now, now)
	if !ok {
		t.Fatal("no policy in force")
	}
	draftSrc := []byte(strings.Replace(string(policies.Beijing), "name:", "name: Draft of", 1))
	draftSrc = []byte(strings.ReplaceAll(string(draftSrc), "points: {civic: -20}", "points: {civic: -40}"))
	dp, err := policy.Parse("draft.yaml", draftSrc)
	if err != nil {
		t.Fatal(err)
	}
	draft := engine.Version{Hash: policy.Hash(draftSrc), Policy: dp, Effective: now, Published: now}
	report := func(store credo.RegistryStore) string {
		r, err := simulate.Run(ctx, store, cur, draft, now, simulate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		r.Timing = simulate.Timing{}
		b, err := json.MarshalIndent(r, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if a, b := report(st), report(logOnly{st}); a != b {
		t.Errorf("the simulation from facts differs from the log's:\n%s", firstDiff(a, b))
	}

	// The census.
	census := func(fromLog bool) *registry.Census {
		cc := registry.NewCensusCache(reg, registry.CensusOptions{Points: 4})
		if fromLog {
			registry.CensusFromLog(cc)
		}
		cs, err := cc.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return sortedCensus(cs)
	}
	ca, cb := census(false), census(true)
	ja, _ := json.MarshalIndent(ca, "", " ")
	jb, _ := json.MarshalIndent(cb, "", " ")
	if string(ja) != string(jb) {
		t.Errorf("the census from facts differs from the log's:\n%s", firstDiff(string(ja), string(jb)))
	}
	if len(cb.Entries) == 0 || cb.Subjects < 1000 {
		t.Errorf("census: %d subjects, %d public lists with entries", cb.Subjects, len(cb.Entries))
	}

	// The projection checks cover the facts table.
	pr, err := st.VerifyProjections(ctx)
	if err != nil || !pr.OK {
		t.Fatalf("projections of the untouched store: %+v, %v", pr, err)
	}
	if pr.Tables["facts"] == 0 {
		t.Fatalf("the projection check does not count facts: %v", pr.Tables)
	}
	if _, err := st.CheckProjections(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE facts SET body = X'01' || body WHERE seq = (SELECT min(seq) FROM facts)"); err != nil {
		t.Fatal(err)
	}
	if pr, err := st.VerifyProjections(ctx); err != nil || pr.OK || !hasProblem(pr, "facts") {
		t.Errorf("a tampered fact: %+v, %v", pr, err)
	}
	if _, err := db.Exec("DELETE FROM facts WHERE seq = (SELECT max(seq) FROM facts)"); err != nil {
		t.Fatal(err)
	}
	if pr, err := st.CheckProjections(ctx); err != nil || pr.OK || !hasProblem(pr, "facts") {
		t.Errorf("a missing fact: %+v, %v", pr, err)
	}
}

func hasProblem(pr credo.ProjectionResult, table string) bool {
	for _, p := range pr.Problems {
		if p.Table == table {
			return true
		}
	}
	return false
}

// sortedCensus orders a census's entries (built in subject order from
// facts, in the log's grouping order from the log).
func sortedCensus(cs *registry.Census) *registry.Census {
	for _, es := range cs.Entries {
		slices.SortFunc(es, func(a, b registry.ListEntry) int {
			if c := strings.Compare(a.ID.Canonical, b.ID.Canonical); c != 0 {
				return c
			}
			return strings.Compare(a.CaseRef, b.CaseRef)
		})
	}
	return cs
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			lo := max(0, i-5)
			return "facts: " + strings.Join(la[lo:min(i+3, len(la))], "\n") + "\n---- log: " + strings.Join(lb[lo:min(i+3, len(lb))], "\n")
		}
	}
	return "lengths differ"
}

// TestS03CensusIncremental: a census kept up to date from the log's tail
// (the subjects new events concern, and those whose state has changed
// since by itself) equals a census built afresh, after filings,
// revocations, objections and links and as time passes (listings end,
// the monthly instants slide), re-evaluating only a part of the city.
func TestS03CensusIncremental(t *testing.T) {
	ctx := context.Background()
	st, reg, c, _ := factsCity(t, 1500)
	cc := registry.NewCensusCache(reg, registry.CensusOptions{TTL: time.Nanosecond, Points: 4})
	compare := func(step string) *registry.Census {
		t.Helper()
		got, err := cc.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := registry.NewCensusCache(reg, registry.CensusOptions{TTL: time.Nanosecond, Points: 4}).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ja, _ := json.MarshalIndent(got, "", " ")
		jb, _ := json.MarshalIndent(fresh, "", " ")
		if string(ja) != string(jb) {
			t.Fatalf("%s: the census kept up to date differs from one built afresh:\n%s", step, firstDiff(string(ja), string(jb)))
		}
		return got
	}
	first := compare("start")
	if registry.CensusReevaluated(cc) != -1 {
		t.Fatal("the first census was not built from the facts")
	}
	// Templates: records of the city, and an organisation with a
	// representative.
	var templates []*credo.Record
	var org string
	if err := st.Subjects(ctx, func(s string) error {
		evs, err := st.SubjectEvents(ctx, s)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.Record != nil && len(templates) < 40 {
				templates = append(templates, ev.Record)
			}
			if ev.Link != nil && org == "" && ev.Link.Org == s {
				org = s
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if org == "" || len(templates) < 40 {
		t.Fatalf("org %q, %d templates", org, len(templates))
	}
	orgRule := ""
	for _, r := range templates {
		if r.Subject == org {
			orgRule = r.Rule
		}
	}
	steps := []time.Duration{3 * 24 * time.Hour, 40 * 24 * time.Hour, time.Hour, 200 * 24 * time.Hour, 400 * 24 * time.Hour}
	for n, d := range steps {
		c.t = c.t.Add(d)
		var recs []*credo.Record
		for i, tpl := range templates[n*5 : n*5+8] {
			r := *tpl
			r.ID, r.FiledAt, r.NotifiedAt = 0, time.Time{}, time.Time{}
			r.CaseRef = fmt.Sprintf("INC-%d-%d", n, i)
			r.DecidedAt = c.t.Add(-48 * time.Hour)
			recs = append(recs, &r)
		}
		if orgRule != "" {
			recs = append(recs, &credo.Record{Subject: org, Rule: orgRule, Authority: templates[0].Authority,
				CaseRef: fmt.Sprintf("INC-ORG-%d", n), DecidedAt: c.t.Add(-24 * time.Hour), EvidenceSHA256: evidence})
		}
		res, err := reg.FileRecords(ctx, recs)
		if err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
		if _, err := st.Append(ctx, []*credo.Event{
			{Type: credo.EventRecordRevoked, Actor: "admin", Change: &credo.RecordChange{RecordID: templates[30+n].ID, At: c.t.Add(-time.Hour)}},
			{Type: credo.EventDisputeOpened, Actor: "subject", Dispute: &credo.Dispute{RecordID: res[0].Record.ID, OpenedAt: c.t, Grounds: "not me"}},
		}); err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
		c.t = c.t.Add(time.Minute)
		cs := compare(fmt.Sprintf("step %d (+%s)", n, d))
		re := registry.CensusReevaluated(cc)
		if re < 0 || re >= cs.Subjects/2 {
			t.Errorf("step %d: %d of %d subjects re-evaluated: not incremental", n, re, cs.Subjects)
		}
	}
	if last := compare("end"); last.Subjects <= first.Subjects && len(last.Entries) == 0 {
		t.Errorf("the census did not move: %d subjects", last.Subjects)
	}
}

// TestS03CensusSavedState: the census state saved beside the table's
// snapshot is loaded by the next start and advanced over the events
// appended since (not rebuilt), giving the census a fresh build gives; a
// damaged file is refused and the census built anew.
func TestS03CensusSavedState(t *testing.T) {
	ctx := context.Background()
	st, reg, c, path := factsCity(t, 800)
	snap := path + ".table"
	openReg := func() (*registry.Registry, *syncBuffer) {
		logs := &syncBuffer{}
		r, err := registry.Open(ctx, st, registry.Options{Now: c.now, Snapshot: snap, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return r, logs
	}
	opts := registry.CensusOptions{TTL: time.Nanosecond, Points: 3}
	r1, _ := openReg()
	if _, err := registry.NewCensusCache(r1, opts).Get(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(snap + ".census"); err != nil {
		t.Fatalf("no census state saved: %v", err)
	}
	// Later, more records.
	c.t = c.t.Add(45 * 24 * time.Hour)
	if _, err := reg.FileRecords(ctx, []*credo.Record{judgmentIn(c.t, "SAVED-1"), judgmentIn(c.t, "SAVED-2")}); err != nil {
		t.Fatal(err)
	}
	fresh := func() string {
		cs, err := registry.NewCensusCache(reg, opts).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.MarshalIndent(cs, "", " ")
		return string(b)
	}
	r2, logs := openReg()
	cc := registry.NewCensusCache(r2, opts)
	cs, err := cc.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "census state loaded") || registry.CensusReevaluated(cc) < 0 {
		t.Fatalf("the saved state was not loaded and advanced:\n%s", logs)
	}
	got, _ := json.MarshalIndent(cs, "", " ")
	if want := fresh(); string(got) != want {
		t.Fatalf("the census from the saved state differs from a fresh build:\n%s", firstDiff(string(got), want))
	}

	// A damaged file: refused, the census built anew.
	b, err := os.ReadFile(snap + ".census")
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(snap+".census", b, 0o600); err != nil {
		t.Fatal(err)
	}
	r3, logs := openReg()
	cc = registry.NewCensusCache(r3, opts)
	if cs, err = cc.Get(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "census state not loaded") || registry.CensusReevaluated(cc) != -1 {
		t.Errorf("a damaged census state was used:\n%s", logs)
	}
	if got, _ := json.MarshalIndent(cs, "", " "); string(got) != fresh() {
		t.Error("the census built anew differs from a fresh build")
	}
}

// judgmentIn is a record of the city's policy decided a day before at.
func judgmentIn(at time.Time, caseRef string) *credo.Record {
	return &credo.Record{Subject: "110105199001011232", Rule: "JUDGMENT_DEFAULT_ABILITY", Authority: "court.beijing.no1-intermediate", CaseRef: caseRef, DecidedAt: at.Add(-24 * time.Hour), EvidenceSHA256: evidence}
}
