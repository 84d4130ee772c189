package simulate

import (
	"context"
	"fmt"
	"strings"
	"time"

	"credo"
	"credo/engine"
	"credo/policy"
	"credo/registry"
)

// The simulation service: the API's POST /v1/simulations and the portal's
// simulation page both run a draft through RunDraft, which parses it,
// admits one simulation at a time, and redacts the report for auditors.

// simulationSlot lets one simulation run at a time in the process: each
// one evaluates every subject twice on every core.
var simulationSlot = make(chan struct{}, 1)

// ErrBusy is RunDraft's answer while another simulation runs.
var ErrBusy = &credo.Error{Code: credo.EUNAVAILABLE, Message: "another simulation is running: retry when it is done"}

// DraftError is a draft policy that does not parse or lint: one
// "FILE:LINE: message" line per problem.
type DraftError struct {
	Messages []string
}

func (e *DraftError) Error() string {
	return fmt.Sprintf("the draft policy has %d error(s)", len(e.Messages))
}

// RunDraft runs a draft policy (YAML source, named draft.yaml in its
// messages) against the registry's store, with the policy in force at at
// (zero: now) as the current one. It is the one code path behind
// POST /v1/simulations and the portal's simulation page. A draft that
// does not parse or lint is a *DraftError; while another simulation runs
// it returns ErrBusy (one at a time per process: each one
// evaluates every subject twice on every core). Unless admin, the report
// is redacted: no subject identifiers (an auditor's view).
func RunDraft(ctx context.Context, reg *registry.Registry, src []byte, at time.Time, opts Options, admin bool) (*Report, error) {
	if len(strings.TrimSpace(string(src))) == 0 {
		return nil, credo.FieldErrorf("policy", "the draft policy is empty: send the policy YAML")
	}
	doc, err := policy.Parse("draft.yaml", src)
	if err != nil {
		if msgs, ok := policy.Messages(err); ok {
			return nil, &DraftError{Messages: msgs}
		}
		return nil, credo.FieldErrorf("policy", "%v", err)
	}
	now := reg.Now()
	if at.IsZero() {
		at = now
	}
	cur, ok := reg.Engine().PolicyAt(at, now)
	if !ok {
		return nil, credo.Errorf(credo.ENOTFOUND, "no policy in force at %s", at.Format("2006-01-02T15:04:05Z07:00"))
	}
	if !admin {
		opts.Top = -1 // an auditor sees no subject
	}
	select {
	case simulationSlot <- struct{}{}:
	default:
		return nil, ErrBusy
	}
	defer func() { <-simulationSlot }()
	draft := engine.Version{Hash: policy.Hash(src), Policy: doc, Effective: at, Published: now}
	if opts.Known.IsZero() {
		opts.Known = now // ?at= alone: by everything known now, as for checks
	}
	rep, err := Run(ctx, reg.Store(), cur, draft, at, opts)
	if err != nil {
		return nil, err
	}
	if !admin {
		rep = rep.Redact()
	}
	return rep, nil
}
