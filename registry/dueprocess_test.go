package registry_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/registry"
	"credo/sqlite"
)

// The due-process scenarios run over simulated time: the registry and the
// store share one clock, so valid times (openings, decisions) and
// transaction times (Recorded) follow it. Every expected date below is
// worked out by hand from the test policy (testdata/dueprocess.yaml) and
// the calendar, not computed with the code under test.

// at returns an instant in Shanghai time.
func at(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, shanghai)
}

// given is a decision given during a scenario, to be replayed at the end.
type given struct {
	instant  time.Time
	subject  string
	sector   string
	decision string
}

// dueEnv is a registry over the due-process test policy.
type dueEnv struct {
	t     *testing.T
	ctx   context.Context
	c     *clock
	reg   *registry.Registry
	st    *sqlite.DB
	given []given
	n     int
}

func newDueEnv(t *testing.T) *dueEnv {
	t.Helper()
	c := &clock{at(2026, 3, 1, 9, 0)}
	st, err := sqlite.OpenOptions(filepath.Join(t.TempDir(), "due.db"), sqlite.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	reg, err := registry.Open(ctx, st, registry.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("testdata/dueprocess.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "dueprocess.yaml", src, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return &dueEnv{t: t, ctx: ctx, c: c, reg: reg, st: st}
}

// set moves the clock.
func (e *dueEnv) set(t time.Time) { e.c.t = t }

// person returns the i-th test subject.
func person(i int) string { return ric(fmt.Sprintf("11010519850315%03d", i)) }

var authorityOf = map[string]string{"JUDGMENT_DEFAULT": "court.test", "POLLUTION": "env.test", "LOAN_DEFAULT": "bank.test", "DEBT_COLLECTION": "bureau.credit"}

// file files a record decided at decided and returns it.
func (e *dueEnv) file(subject, rule string, decided time.Time) *credo.Record {
	e.t.Helper()
	e.n++
	res, err := e.reg.FileRecord(e.ctx, &credo.Record{Subject: subject, Rule: rule, Authority: authorityOf[rule],
		CaseRef: fmt.Sprintf("(2026)case-%d", e.n), DecidedAt: decided, EvidenceSHA256: evidence})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Record
}

// check answers a check now from the decision table, wants a decision, and
// remembers it for the replay.
func (e *dueEnv) check(subject, sector, want string) {
	e.t.Helper()
	d, err := e.reg.Check(e.ctx, subject, sector)
	if err != nil {
		e.t.Fatal(err)
	}
	if d.Decision != want {
		e.t.Errorf("%s: check %s in %s: %s, want %s", e.c.t.Format(time.RFC3339), subject, sector, d.Decision, want)
	}
	e.given = append(e.given, given{e.c.t, subject, sector, d.Decision})
}

// replay replays every decision given during the scenario with the
// knowledge of its instant (at = known = instant): each must be the
// decision that was given then, however the scenario went on.
func (e *dueEnv) replay() {
	e.t.Helper()
	if len(e.given) == 0 {
		e.t.Fatal("nothing to replay")
	}
	for _, g := range e.given {
		d, err := e.reg.Explain(e.ctx, g.subject, g.sector, g.instant, g.instant)
		if err != nil {
			e.t.Fatal(err)
		}
		if d.Decision != g.decision {
			e.t.Errorf("replayed as known at %s: %s in %s: %s, but %s was given then", g.instant.Format(time.RFC3339), g.subject, g.sector, d.Decision, g.decision)
		}
	}
}

// explain wants the decision at instant at as known now.
func (e *dueEnv) explain(subject, sector string, t time.Time, want string) {
	e.t.Helper()
	d, err := e.reg.Explain(e.ctx, subject, sector, t, e.c.t)
	if err != nil {
		e.t.Fatal(err)
	}
	if d.Decision != want {
		e.t.Errorf("at %s as known at %s: %s in %s: %s, want %s", t.Format(time.RFC3339), e.c.t.Format(time.RFC3339), subject, sector, d.Decision, want)
	}
}

// status wants a record's status now.
func (e *dueEnv) status(rec *credo.Record, want string) *engine.RecordState {
	e.t.Helper()
	st, err := e.reg.State(e.ctx, rec.Subject, time.Time{}, time.Time{})
	if err != nil {
		e.t.Fatal(err)
	}
	rs := st.Record(rec.ID)
	if rs == nil {
		e.t.Fatalf("record %d not in the state", rec.ID)
	}
	if rs.Status != want {
		e.t.Errorf("%s: record %d status %s, want %s", e.c.t.Format(time.RFC3339), rec.ID, rs.Status, want)
	}
	return rs
}

// refused wants err to be a credo error of code with a message containing
// each of parts (and naming field, if not empty).
func refused(t *testing.T, err error, code, field string, parts ...string) {
	t.Helper()
	if got := credo.ErrorCode(err); got != code {
		t.Fatalf("error %v (code %q), want code %q", err, got, code)
	}
	var ce *credo.Error
	if !asErr(err, &ce) {
		t.Fatalf("error %T, want *credo.Error", err)
	}
	if field != "" && ce.Field != field {
		t.Errorf("error %v names field %q, want %q", err, ce.Field, field)
	}
	for _, p := range parts {
		if !strings.Contains(ce.Message, p) {
			t.Errorf("error %q does not say %q", ce.Message, p)
		}
	}
}

func sameInstant(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got.In(shanghai).Format(time.RFC3339), want.Format(time.RFC3339))
	}
}

const receipt = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"

// objectAndUphold runs the common start of the appeal scenarios: a
// judgment default decided on Monday 2 March 2026, an objection on 10
// March, upheld by the court on 20 March at 15:00.
func objectAndUphold(t *testing.T, e *dueEnv, subject string) (*credo.Record, *registry.DisputeCase) {
	t.Helper()
	e.set(at(2026, 3, 2, 12, 0))
	rec := e.file(subject, "JUDGMENT_DEFAULT", at(2026, 3, 2, 10, 0))
	e.check(subject, "aviation", engine.Deny)

	e.set(at(2026, 3, 10, 9, 0))
	d, err := e.reg.OpenDispute(e.ctx, rec.ID, "  I paid the judgment debt in February  ", strings.ToUpper(receipt), false, false, registry.ActorSubject)
	if err != nil {
		t.Fatal(err)
	}
	// SPC: the court reviews within 15 days: 10 March + 15 d = 25 March.
	sameInstant(t, "objection deadline", d.Deadline, at(2026, 3, 25, 9, 0))
	if d.Procedure != "spc" || d.Decider != "court.test" || d.OverdueRule != "in_force" || d.DaysLeft != 15 || d.Overdue || d.State != credo.StateOpen {
		t.Errorf("objection: %+v", d)
	}
	if d.Grounds != "I paid the judgment debt in February" || d.EvidenceSHA256 != receipt || d.OpenedBy != registry.ActorSubject || d.Appeal {
		t.Errorf("objection as filed: %+v", d.Dispute)
	}
	// The SPC list stays in force during the correction procedure.
	e.check(subject, "aviation", engine.Deny)
	e.status(rec, engine.StatusDisputed)

	_, err = e.reg.OpenDispute(e.ctx, rec.ID, "again", "", false, false, registry.ActorSubject)
	refused(t, err, credo.ECONFLICT, "record_id", "already has an open dispute", "2026-03-25 09:00")
	_, err = e.reg.DecideDispute(e.ctx, d.ID, credo.OutcomeUpheld, "no payment shown", "court.appeal")
	refused(t, err, credo.EFORBIDDEN, "", "court.test")
	_, err = e.reg.DecideDispute(e.ctx, d.ID, "dismissed", "no payment shown", "court.test")
	refused(t, err, credo.EINVALID, "outcome")
	_, err = e.reg.DecideDispute(e.ctx, d.ID, credo.OutcomeUpheld, " ", "court.test")
	refused(t, err, credo.EINVALID, "reason")

	e.set(at(2026, 3, 20, 15, 0))
	d, err = e.reg.DecideDispute(e.ctx, d.ID, credo.OutcomeUpheld, "no payment shown", "court.test")
	if err != nil {
		t.Fatal(err)
	}
	// Reconsideration may be applied for within 10 days: 30 March, 15:00.
	sameInstant(t, "appeal window", d.AppealBy, at(2026, 3, 30, 15, 0))
	if d.AppealTo != "court.appeal" || d.State != credo.StateDecided || d.Outcome != credo.OutcomeUpheld || d.DecidedBy != "court.test" || d.DecidedLate {
		t.Errorf("upheld: %+v", d)
	}
	_, err = e.reg.DecideDispute(e.ctx, d.ID, credo.OutcomeRevoked, "changed my mind", registry.ActorAdmin)
	refused(t, err, credo.ECONFLICT, "", "already decided", "upheld")
	e.check(subject, "aviation", engine.Deny)
	e.status(rec, engine.StatusActive)
	return rec, d
}

func TestAppealInTime(t *testing.T) {
	e := newDueEnv(t)
	subject := person(1)
	rec, _ := objectAndUphold(t, e, subject)

	// The last day of the window, an hour before it closes.
	e.set(at(2026, 3, 30, 14, 0))
	a, err := e.reg.OpenDispute(e.ctx, rec.ID, "the court ignored my bank statement", "", true, false, registry.ActorSubject)
	if err != nil {
		t.Fatal(err)
	}
	// The next court decides within 15 days: 30 March + 15 d = 14 April.
	sameInstant(t, "appeal deadline", a.Deadline, at(2026, 4, 14, 14, 0))
	if !a.Appeal || a.Decider != "court.appeal" || a.DaysLeft != 15 {
		t.Errorf("appeal: %+v", a)
	}
	_, err = e.reg.OpenDispute(e.ctx, rec.ID, "and again", "", true, false, registry.ActorSubject)
	refused(t, err, credo.ECONFLICT, "", "already has an open dispute")

	// Only the appellate court (or an admin) decides the appeal; it is in
	// its queue, not in the first court's.
	_, err = e.reg.DecideDispute(e.ctx, a.ID, credo.OutcomeUpheld, "upheld", "court.test")
	refused(t, err, credo.EFORBIDDEN, "", "appellate authority", "court.appeal")
	q, err := e.reg.DisputeQueue(e.ctx, "court.appeal")
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q[0].ID != a.ID {
		t.Errorf("court.appeal queue %+v, want the appeal", q)
	}
	if q, _ := e.reg.DisputeQueue(e.ctx, "court.test"); len(q) != 0 {
		t.Errorf("court.test queue %+v, want none", q)
	}
	e.check(subject, "aviation", engine.Deny)

	e.set(at(2026, 4, 10, 11, 0))
	a, err = e.reg.DecideDispute(e.ctx, a.ID, credo.OutcomeRevoked, "the debt was paid on 14 February", "court.appeal")
	if err != nil {
		t.Fatal(err)
	}
	if !a.AppealBy.IsZero() || a.Outcome != credo.OutcomeRevoked {
		t.Errorf("decided appeal: %+v", a)
	}
	e.check(subject, "aviation", engine.Allow)
	e.status(rec, engine.StatusRevoked)
	_, err = e.reg.OpenDispute(e.ctx, rec.ID, "once more", "", false, false, registry.ActorSubject)
	refused(t, err, credo.ECONFLICT, "record_id", "revoked")

	// Revoked on appeal: the record never had effect, as known now...
	e.explain(subject, "aviation", at(2026, 3, 5, 12, 0), engine.Allow)
	// ...and every decision given on the way replays as it was given.
	e.replay()
}

func TestAppealTooLate(t *testing.T) {
	e := newDueEnv(t)
	subject := person(2)
	rec := e.file(subject, "JUDGMENT_DEFAULT", at(2026, 2, 27, 10, 0))
	_, err := e.reg.OpenDispute(e.ctx, rec.ID, "appeal first", "", true, false, registry.ActorSubject)
	refused(t, err, credo.ECONFLICT, "appeal", "no decided objection")

	rec, _ = objectAndUphold(t, e, subject)
	// One second after the window closed on 30 March at 15:00.
	e.set(at(2026, 3, 30, 15, 0).Add(time.Second))
	_, err = e.reg.OpenDispute(e.ctx, rec.ID, "the court ignored my bank statement", "", true, false, registry.ActorSubject)
	refused(t, err, credo.ECONFLICT, "appeal", "ended on 2026-03-30 15:00", "10d")
	e.check(subject, "aviation", engine.Deny)
	if ds, err := e.reg.Disputes(e.ctx, credo.DisputeFilter{RecordID: rec.ID}, ""); err != nil || len(ds) != 1 {
		t.Errorf("disputes on the record: %d, %v; want only the objection", len(ds), err)
	}
	e.replay()
}

// overdueScenario: a pollution record (default procedure: in force while
// disputed, suspended once overdue) objected to on Thursday 5 March; the
// bureau must decide by 20 March 09:00 and decides only on 25 March.
func overdueScenario(t *testing.T, outcome string) {
	e := newDueEnv(t)
	subject := person(3)
	e.set(at(2026, 3, 2, 12, 0))
	rec := e.file(subject, "POLLUTION", at(2026, 3, 2, 10, 0))
	e.check(subject, "procurement", engine.Deny)

	e.set(at(2026, 3, 5, 9, 0))
	d, err := e.reg.OpenDispute(e.ctx, rec.ID, "the meter was faulty", "", false, false, registry.ActorSubject)
	if err != nil {
		t.Fatal(err)
	}
	sameInstant(t, "deadline", d.Deadline, at(2026, 3, 20, 9, 0))
	if d.Procedure != "default" || d.OverdueRule != "suspend" || d.Decider != "env.test" {
		t.Errorf("objection: %+v", d)
	}
	e.check(subject, "procurement", engine.Deny) // in force while disputed

	e.set(at(2026, 3, 19, 9, 0))
	e.check(subject, "procurement", engine.Deny)
	q, err := e.reg.DisputeQueue(e.ctx, "env.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q[0].DaysLeft != 1 || q[0].Overdue {
		t.Errorf("queue the day before: %+v", q)
	}

	// At the deadline, undecided: every effect is suspended.
	e.set(at(2026, 3, 20, 9, 0))
	e.check(subject, "procurement", engine.Allow)
	e.status(rec, engine.StatusSuspended)

	e.set(at(2026, 3, 23, 9, 0))
	e.check(subject, "procurement", engine.Allow)
	q, _ = e.reg.DisputeQueue(e.ctx, "env.test")
	if len(q) != 1 || q[0].DaysLeft != -3 || !q[0].Overdue {
		t.Errorf("queue three days late: %+v", q)
	}
	counts, err := e.reg.DueProcessCounts(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := counts["env.test"]; got.OpenDisputes != 1 || got.OverdueDisputes != 1 {
		t.Errorf("counts %+v", counts)
	}
	_, err = e.reg.DecideDispute(e.ctx, d.ID, credo.OutcomeUpheld, "checked", "env.province")
	refused(t, err, credo.EFORBIDDEN, "", "env.test")

	e.set(at(2026, 3, 25, 11, 0))
	d, err = e.reg.DecideDispute(e.ctx, d.ID, outcome, "reviewed the meter records", "env.test")
	if err != nil {
		t.Fatal(err)
	}
	if !d.DecidedLate {
		t.Errorf("decided five days late, not flagged: %+v", d)
	}
	switch outcome {
	case credo.OutcomeUpheld:
		// The late decision restores the effects from its instant on...
		e.check(subject, "procurement", engine.Deny)
		e.status(rec, engine.StatusActive)
		// ...but not for the weeks they were suspended.
		e.explain(subject, "procurement", at(2026, 3, 22, 12, 0), engine.Allow)
		e.explain(subject, "procurement", at(2026, 3, 25, 10, 59), engine.Allow)
		e.explain(subject, "procurement", at(2026, 3, 25, 11, 0), engine.Deny)
		// The appeal window runs from the decision: 25 March + 10 d.
		sameInstant(t, "appeal window", d.AppealBy, at(2026, 4, 4, 11, 0))
		if d.AppealTo != "env.province" {
			t.Errorf("appeal to %q", d.AppealTo)
		}
	case credo.OutcomeRevoked:
		e.check(subject, "procurement", engine.Allow)
		e.status(rec, engine.StatusRevoked)
		e.explain(subject, "procurement", at(2026, 3, 3, 12, 0), engine.Allow)
	}
	if q, _ := e.reg.DisputeQueue(e.ctx, "env.test"); len(q) != 0 {
		t.Errorf("queue after the decision: %+v", q)
	}
	e.replay()
}

func TestOverdueThenUpheld(t *testing.T)  { overdueScenario(t, credo.OutcomeUpheld) }
func TestOverdueThenRevoked(t *testing.T) { overdueScenario(t, credo.OutcomeRevoked) }

func TestRepair(t *testing.T) {
	e := newDueEnv(t)
	subject := person(4)
	e.set(at(2026, 3, 2, 12, 0))
	rec := e.file(subject, "POLLUTION", at(2026, 3, 2, 10, 0))
	e.check(subject, "procurement", engine.Deny)

	// A general record: no repair before 3 months from the decision date.
	e.set(at(2026, 5, 15, 10, 0))
	_, err := e.reg.ApplyRepair(e.ctx, rec.ID, "installed a new filter; fine paid", true, registry.ActorSubject)
	refused(t, err, credo.ECONFLICT, "", "possible from 2026-06-02")
	_, err = e.reg.ApplyRepair(e.ctx, rec.ID, "installed a new filter", false, registry.ActorSubject)
	refused(t, err, credo.EINVALID, "commitment", "public credit commitment")
	_, err = e.reg.ApplyRepair(e.ctx, rec.ID, " ", true, registry.ActorSubject)
	refused(t, err, credo.EINVALID, "statement")
	_, err = e.reg.ApplyRepair(e.ctx, 999, "x", true, registry.ActorSubject)
	refused(t, err, credo.ENOTFOUND, "record_id")
	e.check(subject, "procurement", engine.Deny)

	// Wednesday 3 June: possible. The bureau decides within 10 working
	// days: 4, 5, 8, 9, 10, 11, 12, 15, 16, 17 June.
	e.set(at(2026, 6, 3, 9, 0))
	a, err := e.reg.ApplyRepair(e.ctx, rec.ID, "installed a new filter; fine paid", true, registry.ActorSubject)
	if err != nil {
		t.Fatal(err)
	}
	sameInstant(t, "repair deadline", a.Deadline, at(2026, 6, 17, 9, 0))
	if a.Decider != "env.test" || a.DaysLeft != 14 || a.State != credo.StateOpen || !a.Commitment || a.AppliedBy != registry.ActorSubject {
		t.Errorf("application: %+v", a)
	}
	_, err = e.reg.ApplyRepair(e.ctx, rec.ID, "again", true, registry.ActorSubject)
	refused(t, err, credo.ECONFLICT, "", "pending", "2026-06-17 09:00")
	q, err := e.reg.RepairQueue(e.ctx, "env.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q[0].ID != a.ID {
		t.Errorf("queue %+v", q)
	}
	e.check(subject, "procurement", engine.Deny)

	e.set(at(2026, 6, 10, 14, 0))
	_, err = e.reg.DecideRepair(e.ctx, a.ID, true, "", "court.test")
	refused(t, err, credo.EFORBIDDEN, "", "env.test")
	a, err = e.reg.DecideRepair(e.ctx, a.ID, true, "conduct corrected, commitment published", "env.test")
	if err != nil {
		t.Fatal(err)
	}
	if a.Outcome != credo.RepairApproved || a.State != credo.StateDecided || a.DecidedBy != "env.test" {
		t.Errorf("approved: %+v", a)
	}
	// The effects end from the instant of approval, not before.
	e.check(subject, "procurement", engine.Allow)
	e.explain(subject, "procurement", at(2026, 6, 10, 14, 0).Add(-time.Second), engine.Deny)
	e.explain(subject, "procurement", at(2026, 6, 10, 14, 0), engine.Allow)
	e.status(rec, engine.StatusRepaired)
	_, err = e.reg.ApplyRepair(e.ctx, rec.ID, "again", true, registry.ActorSubject)
	refused(t, err, credo.ECONFLICT, "", "already repaired")
	_, err = e.reg.DecideRepair(e.ctx, a.ID, false, "no", "env.test")
	refused(t, err, credo.ECONFLICT, "", "already decided")
	if q, _ := e.reg.RepairQueue(e.ctx, "env.test"); len(q) != 0 {
		t.Errorf("queue after the decision: %+v", q)
	}
	e.replay()
}

func TestRepairRefusedAndOverdue(t *testing.T) {
	e := newDueEnv(t)
	subject := person(5)
	rec := e.file(subject, "POLLUTION", at(2026, 2, 2, 10, 0))
	loan := e.file(subject, "LOAN_DEFAULT", at(2026, 2, 2, 10, 0))
	_, err := e.reg.ApplyRepair(e.ctx, loan.ID, "paid", true, registry.ActorSubject)
	refused(t, err, credo.ECONFLICT, "", "allows no credit repair")

	e.set(at(2026, 6, 3, 9, 0))
	a, err := e.reg.ApplyRepair(e.ctx, rec.ID, "will do better", true, registry.ActorAdmin)
	if err != nil {
		t.Fatal(err)
	}
	// Unanswered past its deadline (17 June, 09:00): overdue in the queue.
	e.set(at(2026, 6, 18, 9, 0))
	q, err := e.reg.RepairQueue(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || !q[0].Overdue || q[0].DaysLeft != -1 {
		t.Errorf("queue: %+v", q)
	}
	_, err = e.reg.DecideRepair(e.ctx, a.ID, false, "", "env.test")
	refused(t, err, credo.EINVALID, "reason")
	a, err = e.reg.DecideRepair(e.ctx, a.ID, false, "the discharge continued in May", "env.test")
	if err != nil {
		t.Fatal(err)
	}
	if a.Outcome != credo.RepairRefused || !a.DecidedLate || a.Reason != "the discharge continued in May" {
		t.Errorf("refused: %+v", a)
	}
	e.check(subject, "procurement", engine.Deny)
	e.status(rec, engine.StatusActive)
	// After a refusal the subject may apply again.
	if _, err := e.reg.ApplyRepair(e.ctx, rec.ID, "the discharge has stopped", true, registry.ActorSubject); err != nil {
		t.Fatal(err)
	}
	all, err := e.reg.Repairs(e.ctx, credo.RepairFilter{Subject: subject})
	if err != nil || len(all) != 2 {
		t.Fatalf("applications: %d, %v", len(all), err)
	}
	e.replay()
}

func TestFulfilmentEndsUntilFulfilledListing(t *testing.T) {
	e := newDueEnv(t)
	subject := person(6)
	e.set(at(2026, 3, 2, 12, 0))
	rec := e.file(subject, "JUDGMENT_DEFAULT", at(2026, 3, 2, 10, 0))
	e.check(subject, "aviation", engine.Deny)

	// Performed on Tuesday 7 April at 16:00; the court records it the next
	// morning (within the SPC's 3 working days), effective from
	// performance.
	e.set(at(2026, 4, 7, 18, 0))
	e.check(subject, "aviation", engine.Deny)
	e.set(at(2026, 4, 8, 10, 0))
	if _, err := e.reg.ChangeRecord(e.ctx, credo.EventRecordFulfilled, rec.ID, at(2026, 4, 7, 16, 0), "court.test", "paid in full", false); err != nil {
		t.Fatal(err)
	}
	e.check(subject, "aviation", engine.Allow)
	e.status(rec, engine.StatusFulfilled)
	e.explain(subject, "aviation", at(2026, 4, 7, 15, 59), engine.Deny)
	e.explain(subject, "aviation", at(2026, 4, 7, 16, 0), engine.Allow)
	st, err := e.reg.State(e.ctx, subject, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Listing("debtors") != nil {
		t.Errorf("still listed: %+v", st.Listings)
	}
	// The check given on 7 April at 18:00 was a deny, and replays as one.
	e.replay()
}

func TestWorkingDayDeadlines(t *testing.T) {
	e := newDueEnv(t)
	subject := person(7)
	e.set(at(2026, 4, 1, 12, 0))
	r1 := e.file(subject, "JUDGMENT_DEFAULT", at(2026, 4, 1, 10, 0))
	r2 := e.file(subject, "JUDGMENT_DEFAULT", at(2026, 4, 1, 11, 0))
	p := e.file(subject, "POLLUTION", at(2026, 1, 20, 10, 0))

	e.set(at(2026, 4, 20, 9, 0))
	d1, err := e.reg.OpenDispute(e.ctx, r1.ID, "wrong person", "", false, false, registry.ActorSubject)
	if err != nil {
		t.Fatal(err)
	}
	// A repair applied for on Wednesday 29 April: the 10 working days are
	// 30 April, 6, 7, 8, 9 (a make-up Saturday), 11, 12, 13, 14 and 15 May.
	e.set(at(2026, 4, 29, 9, 0))
	a, err := e.reg.ApplyRepair(e.ctx, p.ID, "corrected", true, registry.ActorSubject)
	if err != nil {
		t.Fatal(err)
	}
	sameInstant(t, "repair decision due", a.Deadline, at(2026, 5, 15, 9, 0))

	// Corrected on Thursday 30 April: the correction is due within 3
	// working days, stepping over the Friday 1 May holiday, the weekend
	// and the Monday-Tuesday holidays: 6, 7, 8 May.
	e.set(at(2026, 4, 30, 10, 0))
	d1, err = e.reg.DecideDispute(e.ctx, d1.ID, credo.OutcomeCorrected, "wrong person: re-filing against the right one", "court.test")
	if err != nil {
		t.Fatal(err)
	}
	sameInstant(t, "correction due", d1.CorrectBy, at(2026, 5, 8, 10, 0))
	e.status(r1, engine.StatusRevoked)

	e.set(at(2026, 4, 30, 11, 0))
	d2, err := e.reg.OpenDispute(e.ctx, r2.ID, "wrong amount", "", false, false, registry.ActorSubject)
	if err != nil {
		t.Fatal(err)
	}
	sameInstant(t, "review deadline (calendar days run through holidays)", d2.Deadline, at(2026, 5, 15, 11, 0))
	// Corrected on Wednesday 6 May: 7 and 8 May, then Saturday 9 May, a
	// make-up working day.
	e.set(at(2026, 5, 6, 10, 0))
	d2, err = e.reg.DecideDispute(e.ctx, d2.ID, credo.OutcomeCorrected, "amount wrong", registry.ActorAdmin)
	if err != nil {
		t.Fatal(err)
	}
	sameInstant(t, "correction due", d2.CorrectBy, at(2026, 5, 9, 10, 0))
	if d2.DecidedBy != registry.ActorAdmin {
		t.Errorf("decided by %q", d2.DecidedBy)
	}
}

func TestProcedureProfiles(t *testing.T) {
	e := newDueEnv(t)
	withInfo, without, pboc := person(8), person(9), person(10)
	e.set(at(2026, 3, 2, 12, 0))
	r1 := e.file(withInfo, "DEBT_COLLECTION", at(2026, 3, 2, 10, 0))
	r2 := e.file(without, "DEBT_COLLECTION", at(2026, 3, 2, 10, 0))
	r3 := e.file(pboc, "LOAN_DEFAULT", at(2026, 3, 2, 10, 0))
	for _, s := range []string{withInfo, without, pboc} {
		e.check(s, "lending", engine.Limit)
	}

	e.set(at(2026, 3, 3, 10, 0))
	// FCRA: reinvestigated within 30 days, 45 with new information.
	d1, err := e.reg.OpenDispute(e.ctx, r1.ID, "paid; receipt attached", receipt, false, true, registry.ActorSubject)
	if err != nil {
		t.Fatal(err)
	}
	sameInstant(t, "FCRA deadline with new information", d1.Deadline, at(2026, 4, 17, 10, 0))
	if d1.Procedure != "fcra" || !d1.NewInformation || d1.Decider != "bureau.credit" {
		t.Errorf("fcra dispute: %+v", d1)
	}
	d2, err := e.reg.OpenDispute(e.ctx, r2.ID, "not my debt", "", false, false, registry.ActorSubject)
	if err != nil {
		t.Fatal(err)
	}
	sameInstant(t, "FCRA deadline", d2.Deadline, at(2026, 4, 2, 10, 0))
	// PBOC: a disputed item is verified within 20 days.
	d3, err := e.reg.OpenDispute(e.ctx, r3.ID, "loan repaid", "", false, false, registry.ActorSubject)
	if err != nil {
		t.Fatal(err)
	}
	sameInstant(t, "PBOC deadline", d3.Deadline, at(2026, 3, 23, 10, 0))
	if d3.Procedure != "pboc" || d3.Decider != "bank.test" {
		t.Errorf("pboc dispute: %+v", d3)
	}
	// The FCRA list is suspended while disputed; the PBOC one is not.
	e.check(withInfo, "lending", engine.Allow)
	e.check(without, "lending", engine.Allow)
	e.check(pboc, "lending", engine.Limit)

	e.set(at(2026, 3, 23, 9, 59))
	e.check(pboc, "lending", engine.Limit)
	e.set(at(2026, 3, 23, 10, 0))
	e.check(pboc, "lending", engine.Allow) // unverified in time: suspended
	e.status(r3, engine.StatusSuspended)

	// 10 April: past 30 days, within 45. The engine honours the extension.
	e.set(at(2026, 4, 10, 10, 0))
	rs := e.status(r1, engine.StatusDisputed)
	sameInstant(t, "engine deadline with new information", rs.DisputeDeadline, at(2026, 4, 17, 10, 0))
	if rs.Overdue {
		t.Error("the dispute with new information is overdue before its extended deadline")
	}
	if rs := e.status(r2, engine.StatusSuspended); !rs.Overdue {
		t.Error("the dispute without new information is not overdue")
	}
	st, err := e.reg.State(e.ctx, withInfo, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sameInstant(t, "next change", st.Next, at(2026, 4, 17, 10, 0))

	// The bank upholds late; the listing is back; PBOC has no appeal.
	e.set(at(2026, 4, 13, 10, 0))
	if _, err := e.reg.DecideDispute(e.ctx, d3.ID, credo.OutcomeUpheld, "verified with the loan file", "bank.test"); err != nil {
		t.Fatal(err)
	}
	e.check(pboc, "lending", engine.Limit)
	_, err = e.reg.OpenDispute(e.ctx, r3.ID, "appeal", "", true, false, registry.ActorSubject)
	refused(t, err, credo.ECONFLICT, "appeal", "pboc", "no appeal")
	e.replay()
}

func TestDisputeQueueOrder(t *testing.T) {
	e := newDueEnv(t)
	a, b, c := person(11), person(12), person(13)
	e.set(at(2026, 3, 2, 12, 0))
	ra := e.file(a, "JUDGMENT_DEFAULT", at(2026, 3, 2, 10, 0))
	rb := e.file(b, "JUDGMENT_DEFAULT", at(2026, 3, 2, 10, 0))
	rc := e.file(c, "POLLUTION", at(2026, 3, 2, 10, 0))

	e.set(at(2026, 3, 10, 9, 0))
	db, err := e.reg.OpenDispute(e.ctx, rb.ID, "b", "", false, false, registry.ActorSubject)
	if err != nil {
		t.Fatal(err)
	}
	e.set(at(2026, 3, 11, 9, 0))
	if _, err := e.reg.OpenDispute(e.ctx, rc.ID, "c", "", false, false, registry.ActorSubject); err != nil {
		t.Fatal(err)
	}
	e.set(at(2026, 3, 12, 9, 0))
	da, err := e.reg.OpenDispute(e.ctx, ra.ID, "a", "", false, true, registry.ActorAdmin)
	if err != nil {
		t.Fatal(err)
	}
	// Late on 25 March: b's deadline (25 March 09:00) has passed; a's is
	// 27 March 09:00 (the SPC profile has no extension for new
	// information).
	e.set(at(2026, 3, 25, 20, 0))
	q, err := e.reg.DisputeQueue(e.ctx, "court.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 2 || q[0].ID != db.ID || q[1].ID != da.ID {
		t.Fatalf("queue %+v, want b then a", q)
	}
	if !q[0].Overdue || q[0].DaysLeft != 0 || q[1].Overdue || q[1].DaysLeft != 2 {
		t.Errorf("queue deadlines: b %v %d, a %v %d", q[0].Overdue, q[0].DaysLeft, q[1].Overdue, q[1].DaysLeft)
	}
	sameInstant(t, "a's deadline", q[1].Deadline, at(2026, 3, 27, 9, 0))
	all, err := e.reg.DisputeQueue(e.ctx, "")
	if err != nil || len(all) != 3 {
		t.Fatalf("all open: %d, %v", len(all), err)
	}
	// c's deadline, 26 March 09:00, falls between b's and a's.
	if all[1].Subject != c {
		t.Errorf("all open, by deadline: %s %s %s", all[0].Subject, all[1].Subject, all[2].Subject)
	}
	if _, err := e.reg.DisputeQueue(e.ctx, "court.nowhere"); credo.ErrorCode(err) != credo.EINVALID {
		t.Errorf("unknown authority: %v", err)
	}
	mine, err := e.reg.Disputes(e.ctx, credo.DisputeFilter{Subject: a}, "")
	if err != nil || len(mine) != 1 || mine[0].OpenedBy != registry.ActorAdmin {
		t.Errorf("a's disputes: %+v, %v", mine, err)
	}
}
