package registry

import (
	"context"
	"fmt"
	"time"

	"credo"
	"credo/engine"
	"credo/policy"
)

// Eligibility says which due-process steps a subject may take on one of
// their records at an instant: object to it, appeal the decision on the
// last objection, apply for credit repair, each with the refusal the
// registry gives when it may not. It is the one statement of these rules:
// OpenDispute and ApplyRepair refuse with the refusals it computes, and the
// portal offers exactly the steps it allows.
type Eligibility struct {
	RecordID int64
	Object   Step
	Appeal   Step
	Repair   Step
	// RepairPending is true while a repair application is undecided.
	RepairPending bool
}

// Step is one due-process step: whether it may be taken now and, when
// not, why.
type Step struct {
	Allowed bool
	// Refusal is the registry's refusal (ECONFLICT, naming the dates),
	// nil when Allowed.
	Refusal error
	// From is the first instant the step may be taken (repair: the
	// rule's minimum period from the decision), zero when it may be
	// taken at once or never.
	From time.Time
	// Later is true when the only obstacle is that From has not come yet.
	Later bool
	// By is the last instant the step may be taken (appeal: the end of
	// the filing window), zero when it has no limit.
	By time.Time
}

// Reason is the refusal's message, "" when the step is allowed.
func (s Step) Reason() string {
	if s.Refusal == nil {
		return ""
	}
	return credo.ErrorMessage(s.Refusal)
}

func allowed() Step { return Step{Allowed: true} }

func refused(err error) Step { return Step{Refusal: err} }

// RecordEligibility computes the eligibility of a record at instant now
// from the policy in force, the record, its state at now (nil: unknown),
// the disputes on it and its repair applications. It reads nothing: the
// caller passes what it has loaded.
func RecordEligibility(pol *policy.Policy, rec *credo.Record, rs *engine.RecordState, disputes []credo.DisputeView, repairs []credo.RepairView, now time.Time) Eligibility {
	e := Eligibility{RecordID: rec.ID}
	e.Object = objectStep(pol, rec, rs, disputes, now)
	e.Appeal = e.Object
	if e.Appeal.Allowed {
		e.Appeal = appealStep(pol, rec, disputes, now)
	}
	var pending []credo.RepairView
	for _, a := range repairs {
		if a.RecordID == rec.ID && a.State == credo.StateOpen {
			pending = append(pending, a)
		}
	}
	e.RepairPending = len(pending) > 0
	e.Repair = repairStep(pol, rec, rs, pending, now)
	return e
}

// objectStep: an objection is refused while another dispute on the record
// is open and for a revoked record.
func objectStep(pol *policy.Policy, rec *credo.Record, rs *engine.RecordState, disputes []credo.DisputeView, now time.Time) Step {
	loc := pol.Location()
	for _, d := range disputes {
		if d.RecordID == rec.ID && d.State == credo.StateOpen {
			c := disputeCase(pol, d, now)
			return refused(&credo.Error{Code: credo.ECONFLICT, Field: "record_id", Message: fmt.Sprintf(
				"record %d already has an open dispute (%d, opened %s, decision due %s): wait for its decision",
				rec.ID, d.ID, stamp(d.OpenedAt, loc), stamp(c.Deadline, loc))})
		}
	}
	if rs != nil && rs.Status == engine.StatusRevoked {
		return refused(&credo.Error{Code: credo.ECONFLICT, Field: "record_id", Message: fmt.Sprintf("record %d is revoked: there is nothing left to dispute", rec.ID)})
	}
	return allowed()
}

// appealStep: an appeal may be filed when the last objection to the record
// was decided upheld, not yet appealed, the procedure and the authority
// provide an appeal, and the filing window is open.
func appealStep(pol *policy.Policy, rec *credo.Record, past []credo.DisputeView, now time.Time) Step {
	loc := pol.Location()
	var last *credo.DisputeView
	for i := range past {
		if d := &past[i]; d.RecordID == rec.ID && !d.Appeal && d.State == credo.StateDecided && (last == nil || d.ID > last.ID) {
			last = d
		}
	}
	conflict := func(format string, args ...any) Step {
		return refused(&credo.Error{Code: credo.ECONFLICT, Field: "appeal", Message: fmt.Sprintf(format, args...)})
	}
	if last == nil {
		return conflict("record %d has no decided objection to appeal: object first", rec.ID)
	}
	if last.Outcome != credo.OutcomeUpheld {
		return conflict("the objection to record %d (dispute %d) was decided %s: there is nothing to appeal", rec.ID, last.ID, last.Outcome)
	}
	for _, d := range past {
		if d.RecordID == rec.ID && d.Appeal && d.ID > last.ID {
			return conflict("the decision on dispute %d was already appealed (dispute %d)", last.ID, d.ID)
		}
	}
	name, proc := engine.DisputeProcedure(pol, pol.Rule(rec.Rule))
	if name == "" {
		name = "default"
	}
	if proc.AppealFile.IsZero() {
		return conflict("the %s dispute procedure that governs record %d provides no appeal", name, rec.ID)
	}
	a := pol.Authority(rec.Authority)
	if a == nil || a.AppealTo == "" {
		return conflict("the policy names no appellate authority for %s (appeal_to): an appeal is not possible", rec.Authority)
	}
	by := pol.Calendar.Add(last.DecidedAt, proc.AppealFile)
	if now.After(by) {
		s := conflict("the time to appeal the decision of %s on dispute %d ended on %s (%s from the decision)",
			stamp(last.DecidedAt, loc), last.ID, stamp(by, loc), proc.AppealFile)
		s.By = by
		return s
	}
	return Step{Allowed: true, By: by}
}

// repairGate refuses a repair at instant at when the record's rule allows
// none or before the rule's minimum period (the refusal names the date).
// A rule not in the policy passes: the caller says what that means.
func repairGate(pol *policy.Policy, rec *credo.Record, at time.Time) Step {
	rule := pol.Rule(rec.Rule)
	if rule == nil {
		return allowed()
	}
	if !rule.Repair.IsAllowed() {
		return refused(credo.Errorf(credo.ECONFLICT, "rule %s allows no credit repair", rule.Code))
	}
	from, _ := engine.RepairFrom(pol, rule, rec)
	if at.Before(from) {
		return Step{From: from, Later: true, Refusal: credo.Errorf(credo.ECONFLICT,
			"repair of record %d is possible from %s (the minimum period of %s from the decision date)",
			rec.ID, from.In(pol.Location()).Format("2006-01-02"), rule.Repair.After)}
	}
	return Step{Allowed: true, From: from}
}

// repairStep: a repair application is refused when the rule is not in the
// policy or allows no repair, before the rule's minimum period, when the
// record is already repaired, revoked or expired, or while another
// application is pending.
func repairStep(pol *policy.Policy, rec *credo.Record, rs *engine.RecordState, pending []credo.RepairView, now time.Time) Step {
	loc := pol.Location()
	if pol.Rule(rec.Rule) == nil {
		return refused(credo.Errorf(credo.ECONFLICT, "rule %s of record %d is not in the policy in force: it has no effect to repair", rec.Rule, rec.ID))
	}
	gate := repairGate(pol, rec, now)
	if gate.Refusal != nil && !gate.Later {
		return gate
	}
	var err error
	if rs != nil {
		switch rs.Status {
		case engine.StatusRepaired:
			err = credo.Errorf(credo.ECONFLICT, "record %d is already repaired", rec.ID)
		case engine.StatusRevoked:
			err = credo.Errorf(credo.ECONFLICT, "record %d is revoked: there is nothing to repair", rec.ID)
		case engine.StatusExpired:
			err = credo.Errorf(credo.ECONFLICT, "the effects of record %d ended on %s: there is nothing to repair", rec.ID, stamp(rs.Until, loc))
		}
	}
	if err == nil && len(pending) > 0 {
		c := repairCase(pol, pending[0], now)
		err = credo.Errorf(credo.ECONFLICT, "record %d already has a pending repair application (%d, made %s, decision due %s)",
			rec.ID, c.ID, stamp(c.AppliedAt, loc), stamp(c.Deadline, loc))
	}
	if err != nil {
		if gate.Later {
			// Too early, and waiting would not help: the date is
			// refused first, as it always was.
			err = gate.Refusal
		}
		return refused(err)
	}
	return gate
}

// Eligibility returns which due-process steps the subject of a record may
// take on it now, with the refusals.
func (r *Registry) Eligibility(ctx context.Context, recordID int64) (*Eligibility, error) {
	_, _, e, _, err := r.eligibilityOf(ctx, recordID)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// eligibilityOf loads the policy in force, the record, and what
// RecordEligibility needs for it now (its disputes, its pending repair
// applications, its state), and returns them with the eligibility and
// the instant it was computed for.
func (r *Registry) eligibilityOf(ctx context.Context, recordID int64) (*policy.Policy, *credo.Record, Eligibility, time.Time, error) {
	var e Eligibility
	fail := func(err error) (*policy.Policy, *credo.Record, Eligibility, time.Time, error) {
		return nil, nil, e, time.Time{}, err
	}
	pol, _, err := r.Policy(ctx)
	if err != nil {
		return fail(err)
	}
	rec, err := r.record(ctx, recordID, "record_id")
	if err != nil {
		return fail(err)
	}
	ds, err := r.dueStore()
	if err != nil {
		return fail(err)
	}
	now := r.now()
	disputes, err := ds.Disputes(ctx, credo.DisputeFilter{RecordID: rec.ID})
	if err != nil {
		return fail(err)
	}
	repairs, err := ds.RepairApplications(ctx, credo.RepairFilter{RecordID: rec.ID, State: credo.StateOpen})
	if err != nil {
		return fail(err)
	}
	st, err := r.State(ctx, rec.Subject, now, now)
	if err != nil {
		return fail(err)
	}
	return pol, rec, RecordEligibility(pol, rec, st.Record(rec.ID), disputes, repairs, now), now, nil
}
