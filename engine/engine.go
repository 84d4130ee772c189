package engine

import (
	"fmt"
	"sort"
	"time"

	"credo"
	"credo/policy"
)

// EventTypes are the events the engine reads; the others (notices, policy
// publications, repair applications) do not change a subject's state.
var EventTypes = []credo.EventType{
	credo.EventRecordFiled, credo.EventRecordRevoked, credo.EventRecordFulfilled, credo.EventRepairApproved,
	credo.EventDisputeOpened, credo.EventDisputeDecided, credo.EventConsentGiven, credo.EventConsentWithdrawn,
	credo.EventLinkAdded, credo.EventLinkRemoved,
}

// Version is a published policy version.
type Version struct {
	Hash      string
	Effective time.Time
	Published time.Time
	Policy    *policy.Policy
}

// Engine evaluates subjects under a history of published policy versions.
// It holds no subject data; it is safe for concurrent use once built.
type Engine struct {
	versions []Version // by Effective, then Published
}

// New returns an engine over the given published versions.
func New(versions ...Version) *Engine {
	e := &Engine{}
	for _, v := range versions {
		e.Add(v)
	}
	return e
}

// Add records another published version. Not safe concurrently with
// evaluation: build a new Engine when publishing in a running registry.
func (e *Engine) Add(v Version) {
	e.versions = append(e.versions, v)
	sort.SliceStable(e.versions, func(i, j int) bool {
		a, b := e.versions[i], e.versions[j]
		if !a.Effective.Equal(b.Effective) {
			return a.Effective.Before(b.Effective)
		}
		return a.Published.Before(b.Published)
	})
}

// Versions returns the published versions, by effective time.
func (e *Engine) Versions() []Version { return e.versions }

// PolicyAt returns the version in force at instant at, as published by
// instant known: the latest effective no later than at among the versions
// published no later than known. ok is false if there is none.
func (e *Engine) PolicyAt(at, known time.Time) (Version, bool) {
	var best Version
	ok := false
	for _, v := range e.versions {
		if v.Published.After(known) || v.Effective.After(at) {
			continue
		}
		best, ok = v, true
	}
	return best, ok
}

// noPolicy explains why no version decides at at as known at known:
// nothing had been published by known (the fault of known, field "known"),
// or nothing published by then was in force at at (field "at").
func (e *Engine) noPolicy(at, known time.Time) error {
	var first time.Time
	for _, v := range e.versions {
		if first.IsZero() || v.Published.Before(first) {
			first = v.Published
		}
	}
	if !first.IsZero() && first.After(known) {
		return &credo.Error{Code: credo.EINVALID, Field: "known", Message: fmt.Sprintf(
			"nothing was known as of %s: the first policy was published at %s", known.Format(time.RFC3339), first.Format(time.RFC3339))}
	}
	return &credo.Error{Code: credo.EINVALID, Field: "at", Message: fmt.Sprintf("no policy in force at %s", at.Format(time.RFC3339))}
}

// NextVersion returns the effective time of the first version, published by
// known, that takes effect after at; zero if none.
func (e *Engine) NextVersion(at, known time.Time) time.Time {
	for _, v := range e.versions {
		if !v.Published.After(known) && v.Effective.After(at) {
			return v.Effective
		}
	}
	return time.Time{}
}

// State computes a subject's state at instant at from the events known by
// instant known, under the policy in force at at as published by known.
func (e *Engine) State(f *Facts, at, known time.Time) (*State, error) {
	v, ok := e.PolicyAt(at, known)
	if !ok {
		return nil, e.noPolicy(at, known)
	}
	s := Evaluate(v.Policy, f, at, known)
	s.Policy = v.Hash
	if nv := e.NextVersion(at, known); !nv.IsZero() && (s.Next.IsZero() || nv.Before(s.Next)) {
		s.Next = nv
	}
	return s, nil
}

// Standing is Evaluator.Standing under the policy in force at at as
// published by known, with the next change bounded by the next version
// taking effect, as State's: what a census reads of State, computed
// without the explanation.
func (e *Engine) Standing(ev *Evaluator, f *Facts, at, known time.Time) (*Standing, error) {
	v, ok := e.PolicyAt(at, known)
	if !ok {
		return nil, e.noPolicy(at, known)
	}
	st := ev.Standing(v.Policy, f, at, known)
	if nv := e.NextVersion(at, known); !nv.IsZero() && (st.Next.IsZero() || nv.Before(st.Next)) {
		st.Next = nv
	}
	return st, nil
}
