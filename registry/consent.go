package registry

import (
	"context"

	"credo"
)

// Consent records a subject's consent to a scheme (given) or its
// withdrawal. The scheme must be one of the policy in force that scores
// the subject's kind only with consent. A request that changes nothing
// appends nothing: the same consent again returns the event that gave
// (or withdrew) it, with created false; withdrawing a consent never given
// is a conflict.
func (r *Registry) Consent(ctx context.Context, subject, scheme string, given bool) (ev *credo.Event, created bool, err error) {
	id, err := r.ParseSubject(subject)
	if err != nil {
		return nil, false, err
	}
	pol, _, err := r.Policy(ctx)
	if err != nil {
		return nil, false, err
	}
	sc := pol.Scheme(scheme)
	switch {
	case sc == nil:
		return nil, false, credo.FieldErrorf("scheme", "unknown scheme %q in the policy in force", scheme)
	case !sc.Applies(id.Kind.String()):
		return nil, false, credo.FieldErrorf("scheme", "scheme %s does not score a %s", scheme, id.Kind)
	case !sc.ConsentRequired():
		return nil, false, credo.FieldErrorf("scheme", "scheme %s scores without consent under the policy in force: consent has no effect", scheme)
	}
	r.changeMu.Lock() // the check for the last consent and the append, as one
	defer r.changeMu.Unlock()
	f, err := r.Facts(ctx, id.Canonical)
	if err != nil {
		return nil, false, err
	}
	var last *credo.Event
	for i := range f.Events {
		e := &f.Events[i]
		if (e.Type == credo.EventConsentGiven || e.Type == credo.EventConsentWithdrawn) && e.Consent != nil && e.Consent.Scheme == scheme {
			last = e
		}
	}
	switch {
	case last != nil && last.Consent.Given == given:
		return last, false, nil
	case last == nil && !given:
		return nil, false, &credo.Error{Code: credo.ECONFLICT, Field: "given", Message: "there is no consent to scheme " + scheme + " to withdraw"}
	}
	typ := credo.EventConsentGiven
	if !given {
		typ = credo.EventConsentWithdrawn
	}
	evs, err := r.Append(ctx, &credo.Event{Type: typ, Subject: id.Canonical, Actor: credo.RoleSubject,
		Consent: &credo.Consent{Scheme: scheme, At: r.now(), Given: given}})
	if err != nil {
		return nil, false, err
	}
	return evs[0], true, nil
}
