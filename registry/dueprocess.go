package registry

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"credo"
	"credo/engine"
	"credo/policy"
)

// Due process: objections, appeals and credit repair as workflows over the
// event log. Every step is an event appended through Append (so the
// decision table follows at once); valid times are the registry's clock,
// so every state before and after each step can be replayed. The store
// holds the invariants that must hold under concurrency (one open dispute
// per record, one pending application per record, one decision each); the
// registry adds those that need the policy (appeal windows, minimum
// periods, who decides) and computes deadlines with the engine's own
// arithmetic, so that the queues and the decisions agree to the instant.

// ActorAdmin is the actor of steps taken by an operator, who may act for
// any subject or authority.
const ActorAdmin = credo.RoleAdmin

// ActorSubject is the actor of steps the subject takes.
const ActorSubject = credo.RoleSubject

// maxText bounds grounds, statements and reasons.
const maxText = 4000

// DisputeCase is a dispute with what the policy in force makes of it
// (credo.DisputeCase: the services return it).
type DisputeCase = credo.DisputeCase

// RepairCase is a repair application with its decider and deadline.
type RepairCase = credo.RepairCase

// dueStore returns the store's due-process queries.
func (r *Registry) dueStore() (credo.DueProcessStore, error) {
	if err := r.Doubt(); err != nil {
		return nil, err
	}
	return r.store, nil
}

// checkText validates a free-text field: required, bounded.
func checkText(field, s, why string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", credo.FieldErrorf(field, "is required: %s", why)
	}
	if len(s) > maxText {
		return "", credo.FieldErrorf(field, "is longer than %d characters", maxText)
	}
	return s, nil
}

// record loads a record, naming the input field when it does not exist.
func (r *Registry) record(ctx context.Context, id int64, field string) (*credo.Record, error) {
	if id <= 0 {
		return nil, credo.FieldErrorf(field, "must be a positive record id")
	}
	if err := r.Doubt(); err != nil {
		return nil, err
	}
	rec, err := r.store.Record(ctx, id)
	if credo.ErrorCode(err) == credo.ENOTFOUND {
		return nil, &credo.Error{Code: credo.ENOTFOUND, Field: field, Message: fmt.Sprintf("record %d not found", id)}
	}
	return rec, err
}

// stamp formats an instant for messages, in the policy's time zone.
func stamp(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// daysLeft is the number of calendar days in loc from now's date to t's.
func daysLeft(now, t time.Time, loc *time.Location) int {
	a, b := policy.DateOf(now, loc), policy.DateOf(t, loc)
	ta := time.Date(a.Year, a.Month, a.Day, 0, 0, 0, 0, time.UTC)
	tb := time.Date(b.Year, b.Month, b.Day, 0, 0, 0, 0, time.UTC)
	return int(tb.Sub(ta).Hours() / 24)
}

// disputeCase computes what the policy makes of a dispute at instant now.
func disputeCase(pol *policy.Policy, v credo.DisputeView, now time.Time) DisputeCase {
	c := DisputeCase{DisputeView: v}
	name, proc := engine.DisputeProcedure(pol, pol.Rule(v.Rule))
	if name == "" {
		name = "default"
	}
	c.Procedure, c.OverdueRule = name, proc.Overdue
	if c.OverdueRule == "" {
		c.OverdueRule = "in_force"
	}
	cal := pol.Calendar
	c.Deadline = engine.DisputeDeadline(cal, proc, v.Dispute)
	appealTo := ""
	if a := pol.Authority(v.Authority); a != nil {
		appealTo = a.AppealTo
	}
	c.Decider = v.Authority
	if v.Appeal {
		c.Decider = appealTo
	}
	switch v.State {
	case credo.StateOpen:
		c.Overdue = !now.Before(c.Deadline)
		c.DaysLeft = daysLeft(now, c.Deadline, cal.Loc)
	case credo.StateDecided:
		c.DecidedLate = v.DecidedAt.After(c.Deadline)
		switch v.Outcome {
		case credo.OutcomeCorrected:
			if !proc.Correct.IsZero() {
				c.CorrectBy = cal.Add(v.DecidedAt, proc.Correct)
			}
		case credo.OutcomeUpheld:
			if !v.Appeal && !proc.AppealFile.IsZero() && appealTo != "" {
				c.AppealBy, c.AppealTo = cal.Add(v.DecidedAt, proc.AppealFile), appealTo
			}
		}
	}
	return c
}

// repairCase computes a repair application's deadline at instant now.
func repairCase(pol *policy.Policy, v credo.RepairView, now time.Time) RepairCase {
	c := RepairCase{RepairView: v, Decider: v.Authority}
	cal := pol.Calendar
	c.Deadline = cal.Add(v.AppliedAt, pol.Procedures.Repair.Decide)
	switch v.State {
	case credo.StateOpen:
		c.Overdue = !now.Before(c.Deadline)
		c.DaysLeft = daysLeft(now, c.Deadline, cal.Loc)
	case credo.StateDecided:
		c.DecidedLate = v.DecidedAt.After(c.Deadline)
	}
	return c
}

// duePolicy returns the due-process store and the policy in force.
func (r *Registry) duePolicy(ctx context.Context) (credo.DueProcessStore, *policy.Policy, error) {
	ds, err := r.dueStore()
	if err != nil {
		return nil, nil, err
	}
	pol, _, err := r.Policy(ctx)
	if err != nil {
		return nil, nil, err
	}
	return ds, pol, nil
}

// oneCase loads one dispute or repair application and computes its case
// (deadlines) now.
func oneCase[V, C any](ctx context.Context, r *Registry, load func(credo.DueProcessStore) (*V, error), mk func(*policy.Policy, V, time.Time) C) (*C, error) {
	ds, pol, err := r.duePolicy(ctx)
	if err != nil {
		return nil, err
	}
	v, err := load(ds)
	if err != nil {
		return nil, err
	}
	c := mk(pol, *v, r.now())
	return &c, nil
}

// casesByDeadline computes the cases of disputes or repair applications
// at now, sorted by deadline (the earliest, the overdue, first), then id.
func casesByDeadline[V, C any](pol *policy.Policy, views []V, now time.Time, mk func(*policy.Policy, V, time.Time) C, key func(*C) (time.Time, int64)) []C {
	out := make([]C, 0, len(views))
	for _, v := range views {
		out = append(out, mk(pol, v, now))
	}
	sort.SliceStable(out, func(i, j int) bool {
		di, ii := key(&out[i])
		dj, ij := key(&out[j])
		if !di.Equal(dj) {
			return di.Before(dj)
		}
		return ii < ij
	})
	return out
}

// OpenDispute files a subject's objection to a record, or (appeal) an
// appeal against the upheld decision on the last objection, on behalf of
// actor (ActorSubject or ActorAdmin). Grounds are required; the evidence
// digest is optional. newInformation marks information the authority did
// not have, which extends the review by the procedure's extension. It is
// refused while another dispute on the record is open, for a revoked
// record, and for an appeal that has nothing to appeal, no appellate
// authority, or comes after the filing window (the refusal names the
// deadline). It returns the dispute with its deadline.
func (r *Registry) OpenDispute(ctx context.Context, recordID int64, grounds, evidenceSHA256 string, appeal, newInformation bool, actor string) (*DisputeCase, error) {
	// Without a due-process store nothing below could be answered.
	_, err := r.dueStore()
	if err != nil {
		return nil, err
	}
	if grounds, err = checkText("grounds", grounds, "say what is wrong with the record"); err != nil {
		return nil, err
	}
	evidenceSHA256 = strings.ToLower(strings.TrimSpace(evidenceSHA256))
	if evidenceSHA256 != "" {
		if b, err := hex.DecodeString(evidenceSHA256); err != nil || len(b) != 32 {
			return nil, credo.FieldErrorf("evidence_sha256", "must be 64 hexadecimal characters (the SHA-256 of the evidence)")
		}
	}
	pol, rec, el, now, err := r.eligibilityOf(ctx, recordID)
	if err != nil {
		return nil, err
	}
	step := el.Object
	if appeal {
		step = el.Appeal
	}
	if step.Refusal != nil {
		return nil, step.Refusal
	}
	d := &credo.Dispute{RecordID: rec.ID, OpenedAt: now, Appeal: appeal, Grounds: grounds,
		EvidenceSHA256: evidenceSHA256, NewInformation: newInformation}
	out, err := r.Append(ctx, &credo.Event{Type: credo.EventDisputeOpened, Subject: rec.Subject, Actor: actor, Dispute: d})
	if err != nil {
		return nil, err
	}
	v := credo.DisputeView{Dispute: *out[0].Dispute, Subject: rec.Subject, Authority: rec.Authority, Rule: rec.Rule,
		CaseRef: rec.CaseRef, OpenedBy: actor, State: credo.StateOpen}
	c := disputeCase(pol, v, now)
	return &c, nil
}

// DecideDispute decides an open dispute: upheld (the record stands),
// corrected or revoked (the record is revoked as never having had effect;
// a corrected record is re-filed by the authority). An objection is
// decided by the authority that filed the record, an appeal by its
// appellate authority; ActorAdmin may act for either, anybody else is
// refused with EFORBIDDEN. A reason is required: the subject is told it.
func (r *Registry) DecideDispute(ctx context.Context, disputeID int64, outcome, reason, actor string) (*DisputeCase, error) {
	return r.DecideDisputeOn(ctx, disputeID, outcome, reason, actor, time.Time{})
}

// decidedOn validates the date a decision was taken (zero: now): not in
// the future, not before the step it decides was opened.
func decidedOn(at, now, opened time.Time, what string, loc *time.Location) (time.Time, error) {
	if at.IsZero() {
		return now, nil
	}
	if at.After(now.Add(maxClockSkew)) {
		return time.Time{}, credo.FieldErrorf("decided_at", "%s is in the future", stamp(at, loc))
	}
	if at.Before(opened) {
		return time.Time{}, credo.FieldErrorf("decided_at", "%s is before the %s was made (%s)", stamp(at, loc), what, stamp(opened, loc))
	}
	return at, nil
}

// DecideDisputeOn is DecideDispute for a decision taken at instant at
// (zero: now), e.g. on paper: not in the future, not before the dispute
// was opened. Deadlines and lateness are judged by that date.
func (r *Registry) DecideDisputeOn(ctx context.Context, disputeID int64, outcome, reason, actor string, at time.Time) (*DisputeCase, error) {
	ds, err := r.dueStore()
	if err != nil {
		return nil, err
	}
	switch outcome {
	case credo.OutcomeUpheld, credo.OutcomeCorrected, credo.OutcomeRevoked:
	case "":
		return nil, credo.FieldErrorf("outcome", "is required: upheld, corrected or revoked")
	default:
		return nil, credo.FieldErrorf("outcome", "must be upheld, corrected or revoked, not %q", outcome)
	}
	if reason, err = checkText("reason", reason, "the subject is told why"); err != nil {
		return nil, err
	}
	pol, _, err := r.Policy(ctx)
	if err != nil {
		return nil, err
	}
	v, err := ds.Dispute(ctx, disputeID)
	if err != nil {
		return nil, err
	}
	loc := pol.Location()
	now := r.now()
	c := disputeCase(pol, *v, now)
	if actor != ActorAdmin && actor != c.Decider {
		// Refused before its state is told (the API words the refusal
		// without naming the authorities).
		who := fmt.Sprintf("the authority that filed record %d, %s", v.RecordID, v.Authority)
		if v.Appeal {
			who = fmt.Sprintf("the appellate authority of %s, %s", v.Authority, c.Decider)
			if c.Decider == "" {
				who = fmt.Sprintf("an admin (the policy names no appellate authority for %s)", v.Authority)
			}
		}
		return nil, credo.Errorf(credo.EFORBIDDEN, "dispute %d is decided by %s, not by %s", v.ID, who, actor)
	}
	if v.State == credo.StateDecided {
		return nil, credo.Errorf(credo.ECONFLICT, "dispute %d was already decided on %s: %s", v.ID, stamp(v.DecidedAt, loc), v.Outcome)
	}
	what := "objection"
	if v.Appeal {
		what = "appeal"
	}
	decided, err := decidedOn(at, now, v.OpenedAt, what, loc)
	if err != nil {
		return nil, err
	}
	dec := &credo.DisputeDecision{DisputeID: v.ID, RecordID: v.RecordID, At: decided, Outcome: outcome, Reason: reason}
	if _, err := r.Append(ctx, &credo.Event{Type: credo.EventDisputeDecided, Subject: v.Subject, Actor: actor, Decision: dec}); err != nil {
		return nil, err
	}
	v.State, v.DecidedAt, v.Outcome, v.Reason, v.DecidedBy = credo.StateDecided, decided, outcome, reason, actor
	c = disputeCase(pol, *v, now)
	return &c, nil
}

// Dispute returns a dispute with its deadlines.
func (r *Registry) Dispute(ctx context.Context, id int64) (*DisputeCase, error) {
	return oneCase(ctx, r, func(ds credo.DueProcessStore) (*credo.DisputeView, error) { return ds.Dispute(ctx, id) }, disputeCase)
}

// Disputes returns the disputes that match the filter and, if decider is
// not empty, that the authority must decide (or decided): objections to the
// records it filed, and appeals against the decisions of the authorities
// whose appeal_to it is (decider replaces f.Authorities). They are sorted
// by deadline, the earliest (the overdue) first.
func (r *Registry) Disputes(ctx context.Context, f credo.DisputeFilter, decider string) ([]DisputeCase, error) {
	ds, pol, err := r.duePolicy(ctx)
	if err != nil {
		return nil, err
	}
	// The deadline comes from the policy, not the store: the store returns
	// every match and the limit is applied once they are sorted by
	// deadline (cut by id first, an overdue item could be missing from
	// "overdue first").
	limit := f.Limit
	f.Limit = 0
	var views []credo.DisputeView
	if decider == "" {
		if views, err = ds.Disputes(ctx, f); err != nil {
			return nil, err
		}
	} else {
		if pol.Authority(decider) == nil {
			return nil, credo.FieldErrorf("authority", "unknown authority %q in the policy in force", decider)
		}
		var lower []string // the authorities whose decisions it hears on appeal
		for _, a := range pol.Authorities {
			if a.AppealTo == decider {
				lower = append(lower, a.ID)
			}
		}
		no, yes := false, true
		if f.Appeal == nil || !*f.Appeal {
			q := f
			q.Authorities, q.Appeal = []string{decider}, &no
			if views, err = ds.Disputes(ctx, q); err != nil {
				return nil, err
			}
		}
		if (f.Appeal == nil || *f.Appeal) && len(lower) > 0 {
			q := f
			q.Authorities, q.Appeal = lower, &yes
			more, err := ds.Disputes(ctx, q)
			if err != nil {
				return nil, err
			}
			views = append(views, more...)
		}
	}
	out := casesByDeadline(pol, views, r.now(), disputeCase, func(c *DisputeCase) (time.Time, int64) { return c.Deadline, c.ID })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// DisputeQueue returns the open disputes an authority must decide ("" for
// every open dispute), sorted by deadline, overdue first, each with its
// deadline and the days left (negative: overdue).
func (r *Registry) DisputeQueue(ctx context.Context, authority string) ([]DisputeCase, error) {
	return r.Disputes(ctx, credo.DisputeFilter{State: credo.StateOpen}, authority)
}

// ApplyRepair files a subject's credit-repair application for a record,
// on behalf of actor: a statement of what was corrected and the public
// credit commitment (both required). It is refused, with the date from
// which an application is possible, before the rule's minimum period; and
// when the rule allows no repair, the record is already repaired, revoked
// or expired, or another application is pending. The authority that filed
// the record must decide within procedures.repair.decide.
func (r *Registry) ApplyRepair(ctx context.Context, recordID int64, statement string, commitment bool, actor string) (*RepairCase, error) {
	// Without a due-process store nothing below could be answered.
	_, err := r.dueStore()
	if err != nil {
		return nil, err
	}
	if statement, err = checkText("statement", statement, "say how the conduct was corrected and the obligations performed"); err != nil {
		return nil, err
	}
	if !commitment {
		return nil, credo.FieldErrorf("commitment", "a public credit commitment is required to apply for credit repair")
	}
	pol, rec, el, now, err := r.eligibilityOf(ctx, recordID)
	if err != nil {
		return nil, err
	}
	if el.Repair.Refusal != nil {
		return nil, el.Repair.Refusal
	}
	a := &credo.RepairApplication{RecordID: rec.ID, AppliedAt: now, Statement: statement, Commitment: commitment}
	out, err := r.Append(ctx, &credo.Event{Type: credo.EventRepairApplied, Subject: rec.Subject, Actor: actor, Repair: a})
	if err != nil {
		return nil, err
	}
	v := credo.RepairView{RepairApplication: *out[0].Repair, Subject: rec.Subject, Authority: rec.Authority, Rule: rec.Rule,
		CaseRef: rec.CaseRef, AppliedBy: actor, State: credo.StateOpen}
	c := repairCase(pol, v, now)
	return &c, nil
}

// RepairFrom returns the first instant a repair of the record may be
// applied for, and false if its rule allows none.
func (r *Registry) RepairFrom(ctx context.Context, rec *credo.Record) (time.Time, bool, error) {
	pol, _, err := r.Policy(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	from, ok := engine.RepairFrom(pol, pol.Rule(rec.Rule), rec)
	return from, ok, nil
}

// DecideRepair decides a pending repair application: approval ends the
// record's effects from this instant (a repair.approved change naming the
// application; the record stays in history, marked repaired); refusal
// needs a reason. Only the authority that filed the record, or ActorAdmin,
// may decide.
func (r *Registry) DecideRepair(ctx context.Context, applicationID int64, approve bool, reason, actor string) (*RepairCase, error) {
	return r.DecideRepairOn(ctx, applicationID, approve, reason, actor, time.Time{})
}

// DecideRepairOn is DecideRepair for a decision taken at instant at (zero:
// now): not in the future, not before the application was made. An
// approval takes effect from that date.
func (r *Registry) DecideRepairOn(ctx context.Context, applicationID int64, approve bool, reason, actor string, at time.Time) (*RepairCase, error) {
	ds, err := r.dueStore()
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if !approve {
		if reason, err = checkText("reason", reason, "the subject is told why the repair was refused"); err != nil {
			return nil, err
		}
	} else if len(reason) > maxText {
		return nil, credo.FieldErrorf("reason", "is longer than %d characters", maxText)
	}
	pol, _, err := r.Policy(ctx)
	if err != nil {
		return nil, err
	}
	v, err := ds.RepairApplication(ctx, applicationID)
	if err != nil {
		return nil, err
	}
	loc := pol.Location()
	if actor != ActorAdmin && actor != v.Authority {
		return nil, credo.Errorf(credo.EFORBIDDEN, "repair application %d is decided by the authority that filed record %d, %s, not by %s", v.ID, v.RecordID, v.Authority, actor)
	}
	if v.State == credo.StateDecided {
		return nil, credo.Errorf(credo.ECONFLICT, "repair application %d was already decided on %s: %s", v.ID, stamp(v.DecidedAt, loc), v.Outcome)
	}
	now, err := decidedOn(at, r.now(), v.AppliedAt, "application", loc)
	if err != nil {
		return nil, err
	}
	ev := &credo.Event{Subject: v.Subject, Actor: actor}
	if approve {
		rec, err := r.record(ctx, v.RecordID, "record_id")
		if err != nil {
			return nil, err
		}
		if err := r.repairAllowed(ctx, rec, now); err != nil {
			return nil, err
		}
		ev.Type = credo.EventRepairApproved
		ev.Change = &credo.RecordChange{RecordID: v.RecordID, At: now, Reason: reason, ApplicationID: v.ID}
		v.Outcome = credo.RepairApproved
	} else {
		ev.Type = credo.EventRepairRefused
		ev.Refusal = &credo.RepairRefusal{ApplicationID: v.ID, RecordID: v.RecordID, At: now, Reason: reason}
		v.Outcome = credo.RepairRefused
	}
	if _, err := r.Append(ctx, ev); err != nil {
		return nil, err
	}
	v.State, v.DecidedAt, v.Reason, v.DecidedBy = credo.StateDecided, now, reason, actor
	c := repairCase(pol, *v, r.now())
	return &c, nil
}

// RepairApplication returns a repair application with its deadline.
func (r *Registry) RepairApplication(ctx context.Context, id int64) (*RepairCase, error) {
	return oneCase(ctx, r, func(ds credo.DueProcessStore) (*credo.RepairView, error) { return ds.RepairApplication(ctx, id) }, repairCase)
}

// Repairs returns the repair applications that match the filter, sorted by
// deadline, the earliest (the overdue) first.
func (r *Registry) Repairs(ctx context.Context, f credo.RepairFilter) ([]RepairCase, error) {
	ds, pol, err := r.duePolicy(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range f.Authorities {
		if pol.Authority(a) == nil {
			return nil, credo.FieldErrorf("authority", "unknown authority %q in the policy in force", a)
		}
	}
	limit := f.Limit // applied once sorted by deadline (see Disputes)
	f.Limit = 0
	views, err := ds.RepairApplications(ctx, f)
	if err != nil {
		return nil, err
	}
	out := casesByDeadline(pol, views, r.now(), repairCase, func(c *RepairCase) (time.Time, int64) { return c.Deadline, c.ID })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// RepairQueue returns the pending repair applications an authority must
// decide ("" for all), sorted by deadline, overdue first.
func (r *Registry) RepairQueue(ctx context.Context, authority string) ([]RepairCase, error) {
	f := credo.RepairFilter{State: credo.StateOpen}
	if authority != "" {
		f.Authorities = []string{authority}
	}
	return r.Repairs(ctx, f)
}

// DueCounts counts an authority's open and overdue items.
type DueCounts struct {
	OpenDisputes, OverdueDisputes int
	OpenRepairs, OverdueRepairs   int
}

// DueProcessCounts counts the open and overdue disputes and repair
// applications by the authority that must decide them ("" for appeals
// that only an admin can decide).
func (r *Registry) DueProcessCounts(ctx context.Context) (map[string]DueCounts, error) {
	ds, err := r.DisputeQueue(ctx, "")
	if err != nil {
		return nil, err
	}
	rs, err := r.RepairQueue(ctx, "")
	if err != nil {
		return nil, err
	}
	out := map[string]DueCounts{}
	for _, d := range ds {
		c := out[d.Decider]
		c.OpenDisputes++
		if d.Overdue {
			c.OverdueDisputes++
		}
		out[d.Decider] = c
	}
	for _, a := range rs {
		c := out[a.Decider]
		c.OpenRepairs++
		if a.Overdue {
			c.OverdueRepairs++
		}
		out[a.Decider] = c
	}
	return out, nil
}
