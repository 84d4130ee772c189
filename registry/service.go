package registry

import (
	"context"
	"time"

	"credo"
	"credo/engine"
	"credo/policy"
)

// Services is a registry as the services of package credo (service.go),
// the implementation over a local store; package http's Client is the one
// over a server. The registry's own methods take the actor as an argument
// (the HTTP handlers pass the token's); Services takes it from the context
// (credo.WithActor), acting as the operator (ActorAdmin) by default.
type Services struct {
	R *Registry
}

var (
	_ credo.CheckService[engine.Decision] = Services{}
	_ credo.SubjectService[*engine.State] = Services{}
	_ credo.PolicyService[*policy.Policy] = Services{}
	_ credo.RecordService                 = Services{}
	_ credo.LinkService                   = Services{}
	_ credo.DueProcessService             = Services{}
)

// ctxActor is the actor of the context, the operator by default.
func ctxActor(ctx context.Context) string {
	if a := credo.ActorFrom(ctx); a != "" {
		return a
	}
	return ActorAdmin
}

// Answer decides a check: from the decision table for now as known now
// (Check), else by evaluating the subject's facts (Explain). The policy's
// texts in the reasons are given in q.Lang. It does not log the check.
func (s Services) Answer(ctx context.Context, q credo.CheckQuery) (engine.Decision, error) {
	var d engine.Decision
	var err error
	if q.At.IsZero() && q.Known.IsZero() {
		d, err = s.R.Check(ctx, q.Subject, q.Sector)
	} else {
		d, err = s.R.Explain(ctx, q.Subject, q.Sector, q.At, q.Known)
	}
	if err != nil || q.Lang == "" {
		return d, err
	}
	pol, _, err := s.R.Policy(ctx)
	if err != nil {
		return d, err
	}
	for i, r := range d.Reasons {
		d.Reasons[i].LegalBasis, d.Reasons[i].Contest = r.LegalBasisIn(pol, q.Lang), r.ContestIn(pol, q.Lang)
	}
	return d, nil
}

// State returns a subject's state (Registry.State).
func (s Services) State(ctx context.Context, subject string, at, known time.Time) (*engine.State, error) {
	return s.R.State(ctx, subject, at, known)
}

// Notices returns the notices issued to a subject, oldest first.
func (s Services) Notices(ctx context.Context, subject string) ([]credo.IssuedNotice, error) {
	evs, err := s.R.Notices(ctx, subject)
	if err != nil {
		return nil, err
	}
	out := make([]credo.IssuedNotice, 0, len(evs))
	for _, ev := range evs {
		out = append(out, credo.IssuedNotice{Seq: ev.Seq, Issued: ev.Recorded, Notice: ev.Notice})
	}
	return out, nil
}

// Policy returns the policy in force.
func (s Services) Policy(ctx context.Context) (*policy.Policy, error) {
	pol, _, err := s.R.Policy(ctx)
	return pol, err
}

// Policies lists the published policy versions.
func (s Services) Policies(ctx context.Context) ([]credo.PolicyVersion, error) {
	return s.R.store.Policies(ctx)
}

// FileEach validates each record, then files the valid ones in one call
// of Registry.FileEach.
func (s Services) FileEach(ctx context.Context, recs []*credo.Record) (*credo.BatchFiled, error) {
	out := &credo.BatchFiled{Refused: make([]error, len(recs))}
	var valid []*credo.Record
	var at []int
	for i, rec := range recs {
		if err := s.R.Validate(ctx, rec); err != nil {
			if c := credo.ErrorCode(err); c == credo.EINTERNAL || c == credo.EUNAVAILABLE {
				return out, err
			}
			out.Refused[i] = err
			continue
		}
		valid = append(valid, rec)
		at = append(at, i)
	}
	if len(valid) == 0 {
		return out, nil
	}
	res, refused, err := s.R.FileEach(ctx, valid)
	if err != nil {
		return out, err
	}
	for j, fr := range res {
		switch {
		case refused[j] != nil:
			out.Refused[at[j]] = refused[j]
		case fr.Created:
			out.Filed++
		default:
			out.Present++
		}
	}
	return out, nil
}

// Change revokes a record or records its fulfilment, as the actor of the
// context.
func (s Services) Change(ctx context.Context, typ credo.EventType, c credo.RecordChange) (*credo.Event, error) {
	return s.R.ChangeRecordAs(ctx, typ, c.RecordID, c.At, ctxActor(ctx), c.Reason, c.VoidAbInitio)
}

// AddLink files a link, as the actor of the context.
func (s Services) AddLink(ctx context.Context, l credo.Link) (*credo.LinkResult, error) {
	out, created, err := s.R.AddLink(ctx, l, ctxActor(ctx))
	if err != nil {
		return nil, err
	}
	return &credo.LinkResult{Link: out, Created: created}, nil
}

// EndLink ends a link, as the actor of the context.
func (s Services) EndLink(ctx context.Context, l credo.Link) (*credo.LinkResult, error) {
	out, err := s.R.EndLink(ctx, l, ctxActor(ctx))
	if err != nil {
		return nil, err
	}
	return &credo.LinkResult{Link: out, Created: true}, nil
}

// OpenDispute objects to a record, as the actor of the context.
func (s Services) OpenDispute(ctx context.Context, q credo.DisputeRequest) (*DisputeCase, error) {
	return s.R.OpenDispute(ctx, q.RecordID, q.Grounds, q.EvidenceSHA256, q.Appeal, q.NewInformation, ctxActor(ctx))
}

// DecideDisputeOn decides a dispute, as the actor of the context.
func (s Services) DecideDisputeOn(ctx context.Context, id int64, outcome, reason string, at time.Time) (*DisputeCase, error) {
	return s.R.DecideDisputeOn(ctx, id, outcome, reason, ctxActor(ctx), at)
}

// Disputes lists disputes (see credo.DueProcessService).
func (s Services) Disputes(ctx context.Context, state, authority, subject string) ([]DisputeCase, error) {
	st, sub, err := s.listFilter(state, subject)
	if err != nil {
		return nil, err
	}
	return s.R.Disputes(ctx, credo.DisputeFilter{State: st, Subject: sub}, authority)
}

// ApplyRepair applies for credit repair, as the actor of the context.
func (s Services) ApplyRepair(ctx context.Context, q credo.RepairRequest) (*RepairCase, error) {
	return s.R.ApplyRepair(ctx, q.RecordID, q.Statement, q.Commitment, ctxActor(ctx))
}

// DecideRepairOn decides a repair application, as the actor of the
// context.
func (s Services) DecideRepairOn(ctx context.Context, id int64, approve bool, reason string, at time.Time) (*RepairCase, error) {
	return s.R.DecideRepairOn(ctx, id, approve, reason, ctxActor(ctx), at)
}

// Repairs lists repair applications (see credo.DueProcessService).
func (s Services) Repairs(ctx context.Context, state, authority, subject string) ([]RepairCase, error) {
	st, sub, err := s.listFilter(state, subject)
	if err != nil {
		return nil, err
	}
	f := credo.RepairFilter{State: st, Subject: sub}
	if authority != "" {
		f.Authorities = []string{authority}
	}
	return s.R.Repairs(ctx, f)
}

// listFilter checks a list's state (open, decided or all; "" for open)
// and canonicalises its subject, as the API does.
func (s Services) listFilter(state, subject string) (string, string, error) {
	switch state {
	case "", credo.StateOpen:
		state = credo.StateOpen
	case credo.StateDecided:
	case "all":
		state = ""
	default:
		return "", "", credo.FieldErrorf("state", "must be open, decided or all, not %q", state)
	}
	if subject == "" {
		return state, "", nil
	}
	id, err := s.R.ParseSubject(subject)
	if err != nil {
		return "", "", err
	}
	return state, id.Canonical, nil
}
