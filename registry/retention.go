package registry

import (
	"context"
	"runtime"
	"time"

	"credo/engine"
	"credo/policy"
)

// Published reports whether a public-list entry is shown at instant t under
// pol: the list is public, the entry has begun, and neither its listing nor
// the list's publication period (publish_for) has ended. Only the fields
// the list publishes may be shown (l.Publish).
func Published(pol *policy.Policy, list string, e ListEntry, t time.Time) bool {
	return pol.Published(pol.List(list), e.Since, e.Until, t)
}

// SubjectRetention evaluates one subject's retention at t under the policy
// in force, from every event the registry knows: each record with its retention end and legal basis, those past
// it, and when the subject's last record is.
func (r *Registry) SubjectRetention(ctx context.Context, subject string, t time.Time) (engine.SubjectRetention, error) {
	pol, _, err := r.Policy(ctx)
	if err != nil {
		return engine.SubjectRetention{}, err
	}
	f, err := r.Facts(ctx, subject)
	if err != nil {
		return engine.SubjectRetention{}, err
	}
	return engine.RetentionAt(pol, f, t, r.known(t)), nil
}

// RetentionAll evaluates the retention of every subject with events at t
// under the policy in force, calling fn for each.
func (r *Registry) RetentionAll(ctx context.Context, t time.Time, fn func(engine.SubjectRetention)) error {
	pol, _, err := r.Policy(ctx)
	if err != nil {
		return err
	}
	head, _, err := r.store.Head(ctx)
	if err != nil {
		return err
	}
	lg, err := readLog(ctx, r.store, head, max(runtime.GOMAXPROCS(0), 1))
	if err != nil {
		return err
	}
	facts, _ := lg.Facts(r.parser)
	for _, f := range facts {
		if err := ctx.Err(); err != nil {
			return err
		}
		fn(engine.RetentionAt(pol, f, t, r.known(t)))
	}
	return nil
}

// known is what the registry knows when asked about instant t: everything
// recorded by now, or by t if t is later.
func (r *Registry) known(t time.Time) time.Time {
	if now := r.now(); now.After(t) {
		return now
	}
	return t
}
