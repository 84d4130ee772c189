package registry

import (
	"context"
	"fmt"

	"credo"
	"credo/engine"
)

// A registry never answers from projections it has reason to doubt
// (issue 15, item 4). While it builds its table, and before it returns or
// writes the table's snapshot, Open runs the store's cheap check
// (credo.ProjectionVerifier.CheckProjections: the head agrees with the end
// of the log, and every projection has the row count the log gives); VerifyProjections runs the full comparison with a replay of the
// log (credo serve runs it in the background after start). Either failing
// makes the registry doubtful: every answer, filing and state is refused
// with EUNAVAILABLE and the reason (HTTP 503, /readyz not ready), until an
// operator has resolved it and restarted.

// Doubt returns why the registry refuses to answer from its projections,
// or nil.
func (r *Registry) Doubt() error {
	if d := r.doubt.Load(); d != nil {
		return d
	}
	return nil
}

func (r *Registry) setDoubt(res credo.ProjectionResult, how string) *credo.Error {
	msg := fmt.Sprintf("the registry's projections do not match its event log (%s: %s); it answers nothing from them until an operator resolves it: run `credo verify`, then restore a backup",
		how, res.Summary())
	for _, p := range res.Problems {
		if p.Table == "head" { // the log itself: the message says it all
			msg = "the registry answers nothing: " + p.Problem
		}
	}
	e := &credo.Error{Code: credo.EUNAVAILABLE, Op: "registry", Message: msg}
	r.doubt.CompareAndSwap(nil, e)
	r.log.Error("projections doubted: not answering from them", "check", how, "problems", res.Summary())
	return e
}

// projectionCheck is the outcome of the store's cheap check.
type projectionCheck struct {
	res credo.ProjectionResult
	err error
}

// runCheck runs the store's cheap check.
func (r *Registry) runCheck(ctx context.Context) projectionCheck {
	res, err := r.store.CheckProjections(ctx)
	return projectionCheck{res, err}
}

// checkedProjections acts on the check at open: it reports whether the
// registry may answer from the table it built meanwhile. If not, the
// registry is doubtful and its table empty.
func (r *Registry) checkedProjections(c projectionCheck) (bool, error) {
	if c.err != nil {
		return false, c.err
	}
	if !c.res.OK {
		r.setDoubt(c.res, "the check at open")
		r.swap(&view{eng: engine.New()})
		return false, nil
	}
	return true, nil
}

// VerifyProjections compares every projection with a replay of the whole
// log (credo.ProjectionVerifier.VerifyProjections) and makes the registry
// doubtful if they differ.
func (r *Registry) VerifyProjections(ctx context.Context) (credo.ProjectionResult, error) {
	res, err := r.store.VerifyProjections(ctx)
	if err != nil {
		return res, err
	}
	if !res.OK {
		r.setDoubt(res, "the verification against a replay of the log")
	}
	return res, nil
}
