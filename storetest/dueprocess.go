package storetest

import (
	"testing"
	"time"

	"credo"
)

// DueProcessStore is a store that answers the due-process queues.
type DueProcessStore interface {
	credo.Store
	credo.DueProcessStore
}

// RunDueProcess checks the dispute and repair-application projections and
// queries, and the invariants the store holds on them. open must return a
// new, empty store and a function that opens its storage again: the
// dispute projection must survive a reopen.
func RunDueProcess(t *testing.T, open Reopener[DueProcessStore]) {
	t.Run("DisputeQueries", func(t *testing.T) {
		db, reopen := open(t)
		testDisputeQueries(t, db, reopen)
	})
	t.Run("RepairApplications", func(t *testing.T) {
		db, _ := open(t)
		testRepairApplications(t, db)
		verifiesProjections(t, db)
	})
}

// testDisputeQueries checks the dispute projection and its queries, and
// that the store refuses a second open dispute on a record.
func testDisputeQueries(t *testing.T, db DueProcessStore, reopen func(t *testing.T) DueProcessStore) {
	res := fileN(t, db, 0, 3)
	water := NewRecord("utility.water", 9, 9)
	wres, err := db.FileRecords(ctx, []*credo.Record{water})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	open := func(rec int64, appeal bool, actor string) *credo.Event {
		t.Helper()
		evs, err := db.Append(ctx, []*credo.Event{{Type: credo.EventDisputeOpened, Actor: actor,
			Dispute: &credo.Dispute{RecordID: rec, OpenedAt: at, Appeal: appeal, Grounds: "not me", NewInformation: appeal}}})
		if err != nil {
			t.Fatal(err)
		}
		return evs[0]
	}
	d0 := open(res[0].Record.ID, false, "subject")
	_, err = db.Append(ctx, []*credo.Event{{Type: credo.EventDisputeOpened, Dispute: &credo.Dispute{RecordID: res[0].Record.ID, OpenedAt: at, Grounds: "again"}}})
	wantCode(t, err, credo.ECONFLICT)
	// A batch that opens two disputes on one record fails as a whole.
	_, err = db.Append(ctx, []*credo.Event{
		{Type: credo.EventDisputeOpened, Dispute: &credo.Dispute{RecordID: res[1].Record.ID, OpenedAt: at, Grounds: "a"}},
		{Type: credo.EventDisputeOpened, Dispute: &credo.Dispute{RecordID: res[1].Record.ID, OpenedAt: at, Grounds: "b"}},
	})
	wantCode(t, err, credo.ECONFLICT)
	if ds, err := db.Disputes(ctx, credo.DisputeFilter{RecordID: res[1].Record.ID}); err != nil || len(ds) != 0 {
		t.Fatalf("half a failed batch was kept: %v, %v", ds, err)
	}
	d1 := open(res[1].Record.ID, false, "admin")
	dw := open(wres[0].Record.ID, false, "subject")
	if _, err := db.Append(ctx, []*credo.Event{{Type: credo.EventDisputeDecided, Actor: "court.test",
		Decision: &credo.DisputeDecision{DisputeID: d0.Dispute.ID, At: at.AddDate(0, 0, 5), Outcome: credo.OutcomeUpheld, Reason: "stands"}}}); err != nil {
		t.Fatal(err)
	}
	// Once decided, the record may be disputed again (an appeal).
	da := open(res[0].Record.ID, true, "subject")

	yes, no := true, false
	for _, tc := range []struct {
		name string
		f    credo.DisputeFilter
		want []int64
	}{
		{"all", credo.DisputeFilter{}, []int64{d0.Seq, d1.Seq, dw.Seq, da.Seq}},
		{"open", credo.DisputeFilter{State: credo.StateOpen}, []int64{d1.Seq, dw.Seq, da.Seq}},
		{"decided", credo.DisputeFilter{State: credo.StateDecided}, []int64{d0.Seq}},
		{"court", credo.DisputeFilter{Authorities: []string{"court.test"}}, []int64{d0.Seq, d1.Seq, da.Seq}},
		{"court and water", credo.DisputeFilter{Authorities: []string{"court.test", "utility.water"}, State: credo.StateOpen}, []int64{d1.Seq, dw.Seq, da.Seq}},
		{"appeals", credo.DisputeFilter{Appeal: &yes}, []int64{da.Seq}},
		{"objections, open", credo.DisputeFilter{Appeal: &no, State: credo.StateOpen}, []int64{d1.Seq, dw.Seq}},
		{"subject", credo.DisputeFilter{Subject: res[0].Record.Subject}, []int64{d0.Seq, da.Seq}},
		{"record", credo.DisputeFilter{RecordID: res[1].Record.ID}, []int64{d1.Seq}},
		{"limit", credo.DisputeFilter{Limit: 2}, []int64{d0.Seq, d1.Seq}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := db.Disputes(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, d := range ds {
				got = append(got, d.ID)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("disputes %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("disputes %v, want %v", got, tc.want)
				}
			}
		})
	}
	_, err = db.Disputes(ctx, credo.DisputeFilter{State: "pending"})
	wantCode(t, err, credo.EINVALID)

	checkDisputeViews(t, db, res[0].Record, d0, da, at)

	// The projection survives a reopen.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2 := reopen(t)
	if ds, err := db2.Disputes(ctx, credo.DisputeFilter{State: credo.StateOpen}); err != nil || len(ds) != 3 {
		t.Errorf("after reopening: %d open, %v", len(ds), err)
	}
	verifiesProjections(t, db2)
}

// checkDisputeViews checks the views of a decided objection (d0, on rec)
// and of an open appeal (da), and that other sequence numbers are no
// disputes.
func checkDisputeViews(t *testing.T, db DueProcessStore, rec *credo.Record, d0, da *credo.Event, at time.Time) {
	t.Helper()
	v, err := db.Dispute(ctx, d0.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if v.Subject != rec.Subject || v.Authority != "court.test" || v.Rule != rec.Rule || v.CaseRef != rec.CaseRef ||
		v.OpenedBy != "subject" || v.Grounds != "not me" || v.State != credo.StateDecided || v.Outcome != credo.OutcomeUpheld ||
		v.Reason != "stands" || v.DecidedBy != "court.test" || !v.DecidedAt.Equal(at.AddDate(0, 0, 5)) || !v.OpenedAt.Equal(at) {
		t.Errorf("dispute view: %+v", v)
	}
	if v, err := db.Dispute(ctx, da.Seq); err != nil || !v.Appeal || !v.NewInformation || v.State != credo.StateOpen {
		t.Errorf("appeal view: %+v, %v", v, err)
	}
	_, err = db.Dispute(ctx, 999)
	wantCode(t, err, credo.ENOTFOUND)
	_, err = db.Dispute(ctx, rec.ID) // a record's event is no dispute
	wantCode(t, err, credo.ENOTFOUND)
}

// testRepairApplications checks the repair workflow events: the
// projection, the invariants the store holds, and the queries.
func testRepairApplications(t *testing.T, db DueProcessStore) {
	res := fileN(t, db, 0, 3)
	r0, r1, r2 := res[0].Record, res[1].Record, res[2].Record
	at := time.Date(2026, 6, 3, 9, 0, 0, 0, time.UTC)
	apply := func(rec int64) (*credo.Event, error) {
		evs, err := db.Append(ctx, []*credo.Event{{Type: credo.EventRepairApplied, Actor: "subject",
			Repair: &credo.RepairApplication{RecordID: rec, AppliedAt: at, Statement: "paid", Commitment: true}}})
		if err != nil {
			return nil, err
		}
		return evs[0], nil
	}
	a0, err := apply(r0.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a0.Repair.ID != a0.Seq || a0.Subject != r0.Subject {
		t.Errorf("application event: id %d seq %d subject %q", a0.Repair.ID, a0.Seq, a0.Subject)
	}
	_, err = apply(r0.ID)
	wantCode(t, err, credo.ECONFLICT) // one pending application per record
	_, err = apply(999)
	wantCode(t, err, credo.ENOTFOUND)

	// Malformed events.
	for name, ev := range map[string]*credo.Event{
		"applied without payload": {Type: credo.EventRepairApplied, Subject: r0.Subject},
		"refused without payload": {Type: credo.EventRepairRefused, Subject: r0.Subject},
		"applied with a change":   {Type: credo.EventRepairApplied, Change: &credo.RecordChange{RecordID: r0.ID}},
		"refused with two":        {Type: credo.EventRepairRefused, Refusal: &credo.RepairRefusal{ApplicationID: a0.Seq}, Repair: &credo.RepairApplication{RecordID: r0.ID}},
	} {
		_, err := db.Append(ctx, []*credo.Event{ev})
		if credo.ErrorCode(err) != credo.EINVALID {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	// Refusals: of an unknown application, naming another record.
	_, err = db.Append(ctx, []*credo.Event{{Type: credo.EventRepairRefused, Refusal: &credo.RepairRefusal{ApplicationID: 999, At: at, Reason: "x"}}})
	wantCode(t, err, credo.ENOTFOUND)
	_, err = db.Append(ctx, []*credo.Event{{Type: credo.EventRepairRefused, Refusal: &credo.RepairRefusal{ApplicationID: a0.Seq, RecordID: r1.ID, At: at, Reason: "x"}}})
	wantCode(t, err, credo.EINVALID)
	ref, err := db.Append(ctx, []*credo.Event{{Type: credo.EventRepairRefused, Actor: "court.test", Refusal: &credo.RepairRefusal{ApplicationID: a0.Seq, At: at.Add(time.Hour), Reason: "not yet"}}})
	if err != nil {
		t.Fatal(err)
	}
	if ref[0].Refusal.RecordID != r0.ID || ref[0].Subject != r0.Subject {
		t.Errorf("refusal filled in: %+v subject %q", ref[0].Refusal, ref[0].Subject)
	}
	_, err = db.Append(ctx, []*credo.Event{{Type: credo.EventRepairRefused, Refusal: &credo.RepairRefusal{ApplicationID: a0.Seq, At: at, Reason: "x"}}})
	wantCode(t, err, credo.ECONFLICT) // decided twice

	// After a refusal, a new application; approved by a change naming it.
	a1, err := apply(r0.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Append(ctx, []*credo.Event{{Type: credo.EventRepairApproved, Change: &credo.RecordChange{RecordID: r1.ID, At: at, ApplicationID: a1.Seq}}})
	wantCode(t, err, credo.EINVALID) // the application is about r0
	if _, err := db.Append(ctx, []*credo.Event{{Type: credo.EventRepairApproved, Actor: "court.test",
		Change: &credo.RecordChange{RecordID: r0.ID, At: at.Add(2 * time.Hour), Reason: "performed", ApplicationID: a1.Seq}}}); err != nil {
		t.Fatal(err)
	}
	_, err = apply(r0.ID)
	wantCode(t, err, credo.ECONFLICT) // already repaired

	// A repair approved without naming the application decides it too.
	a2, err := apply(r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Append(ctx, []*credo.Event{{Type: credo.EventRepairApproved, Change: &credo.RecordChange{RecordID: r1.ID, At: at.Add(3 * time.Hour)}}}); err != nil {
		t.Fatal(err)
	}
	a3, err := apply(r2.ID)
	if err != nil {
		t.Fatal(err)
	}

	checkRepairViews(t, db, r0, r2, [4]*credo.Event{a0, a1, a2, a3}, at)
}

// checkRepairViews checks the views and queries of four repair
// applications: a[0] refused, a[1] approved naming it, a[2] decided by a
// plain repair, a[3] open (on r2).
func checkRepairViews(t *testing.T, db DueProcessStore, r0, r2 *credo.Record, a [4]*credo.Event, at time.Time) {
	t.Helper()
	v, err := db.RepairApplication(ctx, a[0].Seq)
	if err != nil {
		t.Fatal(err)
	}
	if v.Outcome != credo.RepairRefused || v.Reason != "not yet" || v.DecidedBy != "court.test" || !v.DecidedAt.Equal(at.Add(time.Hour)) ||
		v.State != credo.StateDecided || v.Authority != "court.test" || v.AppliedBy != "subject" || !v.Commitment || v.Statement != "paid" {
		t.Errorf("refused application: %+v", v)
	}
	if v, err := db.RepairApplication(ctx, a[1].Seq); err != nil || v.Outcome != credo.RepairApproved || v.Reason != "performed" || !v.DecidedAt.Equal(at.Add(2*time.Hour)) {
		t.Errorf("approved application: %+v, %v", v, err)
	}
	if v, err := db.RepairApplication(ctx, a[2].Seq); err != nil || v.Outcome != credo.RepairApproved {
		t.Errorf("application decided by a plain repair: %+v, %v", v, err)
	}
	_, err = db.RepairApplication(ctx, 999)
	wantCode(t, err, credo.ENOTFOUND)
	for name, tc := range map[string]struct {
		f    credo.RepairFilter
		want int
	}{
		"all":     {credo.RepairFilter{}, 4},
		"open":    {credo.RepairFilter{State: credo.StateOpen}, 1},
		"decided": {credo.RepairFilter{State: credo.StateDecided}, 3},
		"court":   {credo.RepairFilter{Authorities: []string{"court.test"}}, 4},
		"water":   {credo.RepairFilter{Authorities: []string{"utility.water"}}, 0},
		"subject": {credo.RepairFilter{Subject: r2.Subject}, 1},
		"record":  {credo.RepairFilter{RecordID: r0.ID}, 2},
		"limit":   {credo.RepairFilter{Limit: 1}, 1},
	} {
		as, err := db.RepairApplications(ctx, tc.f)
		if err != nil || len(as) != tc.want {
			t.Errorf("%s: %d applications, %v; want %d", name, len(as), err, tc.want)
		}
	}
	if as, _ := db.RepairApplications(ctx, credo.RepairFilter{State: credo.StateOpen}); len(as) != 1 || as[0].ID != a[3].Seq {
		t.Errorf("open applications: %+v", as)
	}
	if res, err := db.Verify(ctx); err != nil || !res.OK {
		t.Errorf("verify: %+v, %v", res, err)
	}
}
