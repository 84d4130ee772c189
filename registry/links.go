package registry

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"credo"
	"credo/policy"
)

// Links: who answers for an organisation. A link ties a person to an
// organisation in a role (legal representative, principal, directly
// responsible, actual controller) over a period; the measures a policy
// extends to that role reach the person through it. Links are filed and
// ended by an authority (whose register states them), under a legal basis,
// with their own dates, like records: validated against the policy in
// force, appended as events (the actor is the filing authority or admin),
// and the decision entries of the person are refreshed at once.

// LinkState is a link as the log tells it now: open (no end) or ended.
type LinkState struct {
	credo.Link
	Seq int64 `json:"seq"` // the event that added it
}

// Links returns every link of an organisation, in the order they were
// added, with their end if ended.
func (r *Registry) Links(ctx context.Context, org string) ([]LinkState, error) {
	id, err := r.ParseSubjectAs(org, credo.Org)
	if err != nil {
		return nil, fieldAs(err, "org")
	}
	evs, err := r.store.SubjectEvents(ctx, id.Canonical)
	if err != nil {
		return nil, err
	}
	var out []LinkState
	for _, ev := range evs {
		if ev.Link == nil || ev.Link.Org != id.Canonical {
			continue
		}
		switch ev.Type {
		case credo.EventLinkAdded:
			out = append(out, LinkState{Link: *ev.Link, Seq: ev.Seq})
		case credo.EventLinkRemoved:
			for i := range out {
				if l := &out[i]; l.Person == ev.Link.Person && l.Role == ev.Link.Role && l.Until.IsZero() {
					l.Until = ev.Link.Until
					if l.Until.IsZero() {
						l.Until = ev.Recorded
					}
				}
			}
		}
	}
	return out, nil
}

// fieldAs renames the field of a validation error (identifiers are parsed
// as "subject").
func fieldAs(err error, field string) error {
	if e, ok := err.(*credo.Error); ok && e.Field == "subject" {
		c := *e
		c.Field = field
		return &c
	}
	return err
}

// checkLink validates the parts of a link common to adding and ending it,
// canonicalising its identifiers, and returns the policy in force.
func (r *Registry) checkLink(ctx context.Context, l *credo.Link, actor string) (*policy.Policy, error) {
	pol, _, err := r.Policy(ctx)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(l.Org) == "" {
		return nil, credo.FieldErrorf("org", "is required (the organisation's unified social credit code)")
	}
	oid, err := r.ParseSubjectAs(l.Org, credo.Org)
	if err != nil {
		return nil, fieldAs(err, "org")
	}
	if strings.TrimSpace(l.Person) == "" {
		return nil, credo.FieldErrorf("person", "is required (the person's resident identity card number)")
	}
	pid, err := r.ParseSubjectAs(l.Person, credo.Person)
	if err != nil {
		return nil, fieldAs(err, "person")
	}
	l.Org, l.Person = oid.Canonical, pid.Canonical
	if !slices.Contains(policy.LinkRoles(), l.Role) {
		return nil, credo.FieldErrorf("role", "must be one of %s, not %q", strings.Join(policy.LinkRoles(), ", "), l.Role)
	}
	if l.Authority == "" {
		return nil, credo.FieldErrorf("authority", "is required (the authority whose register states the link)")
	}
	if pol.Authority(l.Authority) == nil {
		return nil, credo.FieldErrorf("authority", "unknown authority %q", l.Authority)
	}
	if actor != ActorAdmin && actor != l.Authority {
		return nil, &credo.Error{Code: credo.EFORBIDDEN, Field: "authority", Message: fmt.Sprintf("authority %s may not file a link for %s", actor, l.Authority)}
	}
	l.LegalBasis = strings.TrimSpace(l.LegalBasis)
	if l.LegalBasis == "" {
		return nil, credo.FieldErrorf("legal_basis", "is required (the provision under which the link is recorded)")
	}
	if len(l.LegalBasis) > 1000 {
		return nil, credo.FieldErrorf("legal_basis", "is longer than 1000 characters")
	}
	if l.EvidenceSHA256 != "" {
		l.EvidenceSHA256 = strings.ToLower(l.EvidenceSHA256)
		if b, err := hex.DecodeString(l.EvidenceSHA256); err != nil || len(b) != 32 {
			return nil, credo.FieldErrorf("evidence_sha256", "must be 64 hexadecimal characters")
		}
	}
	return pol, nil
}

// AddLink files a link between an organisation and a person, effective
// from l.From (required, not in the future, not before the person was
// born), on behalf of actor (the filing authority or ActorAdmin). l.Until
// may close it at once (a link learned of after it ended). Filing a link
// that is already open in the same role with the same start is a no-op
// (nothing is appended); another open link in the same role is a conflict:
// end it first. It returns the link as filed and whether it was created.
func (r *Registry) AddLink(ctx context.Context, l credo.Link, actor string) (*credo.Link, bool, error) {
	if _, err := r.checkLink(ctx, &l, actor); err != nil {
		return nil, false, err
	}
	now := r.now()
	if l.From.IsZero() {
		return nil, false, credo.FieldErrorf("from", "is required (the date the person took the role)")
	}
	if l.From.After(now.Add(maxClockSkew)) {
		return nil, false, credo.FieldErrorf("from", "%s is in the future", l.From.Format(time.RFC3339))
	}
	if pid, _ := r.parser.Parse(l.Person); pid.HasBirth() && l.From.Before(pid.Birth.Add(-14*time.Hour)) {
		return nil, false, credo.FieldErrorf("from", "%s is before the person was born (%s)", l.From.Format("2006-01-02"), pid.Birth.Format("2006-01-02"))
	}
	if !l.Until.IsZero() {
		if !l.Until.After(l.From) {
			return nil, false, credo.FieldErrorf("until", "%s is not after from (%s)", l.Until.Format(time.RFC3339), l.From.Format(time.RFC3339))
		}
		if l.Until.After(now.Add(maxClockSkew)) {
			return nil, false, credo.FieldErrorf("until", "%s is in the future: end the link when it ends", l.Until.Format(time.RFC3339))
		}
	}
	links, err := r.Links(ctx, l.Org)
	if err != nil {
		return nil, false, err
	}
	for _, o := range links {
		if o.Person != l.Person || o.Role != l.Role || !o.Until.IsZero() {
			continue
		}
		if o.From.Equal(l.From) && l.Until.IsZero() {
			return &o.Link, false, nil // the same link again: nothing changes
		}
		return nil, false, &credo.Error{Code: credo.ECONFLICT, Field: "person", Message: fmt.Sprintf(
			"%s is already %s of %s since %s: end that link first", l.Person, l.Role, l.Org, o.From.Format("2006-01-02"))}
	}
	ev := &credo.Event{Type: credo.EventLinkAdded, Subject: l.Org, Actor: actor, Link: &l}
	if !l.Until.IsZero() {
		// Added and ended in one batch, so the link is never open.
		until := l.Until
		open := l
		open.Until = time.Time{}
		end := l
		ev.Link = &open
		if _, err := r.Append(ctx, ev, &credo.Event{Type: credo.EventLinkRemoved, Subject: l.Org, Actor: actor, Link: &end}); err != nil {
			return nil, false, err
		}
		open.Until = until
		return &open, true, nil
	}
	if _, err := r.Append(ctx, ev); err != nil {
		return nil, false, err
	}
	return &l, true, nil
}

// EndLink ends the open link of a person in a role for an organisation at
// l.Until (required: not in the future, after the link's start), on behalf
// of actor. There must be such an open link.
func (r *Registry) EndLink(ctx context.Context, l credo.Link, actor string) (*credo.Link, error) {
	if _, err := r.checkLink(ctx, &l, actor); err != nil {
		return nil, err
	}
	now := r.now()
	if l.Until.IsZero() {
		return nil, credo.FieldErrorf("until", "is required (the date the person left the role)")
	}
	if l.Until.After(now.Add(maxClockSkew)) {
		return nil, credo.FieldErrorf("until", "%s is in the future: end the link when it ends", l.Until.Format(time.RFC3339))
	}
	links, err := r.Links(ctx, l.Org)
	if err != nil {
		return nil, err
	}
	for _, o := range links {
		if o.Person != l.Person || o.Role != l.Role || !o.Until.IsZero() {
			continue
		}
		if !l.Until.After(o.From) {
			return nil, credo.FieldErrorf("until", "%s is not after the link's start (%s)", l.Until.Format(time.RFC3339), o.From.Format(time.RFC3339))
		}
		l.From = o.From
		if _, err := r.Append(ctx, &credo.Event{Type: credo.EventLinkRemoved, Subject: l.Org, Actor: actor, Link: &l}); err != nil {
			return nil, err
		}
		return &l, nil
	}
	return nil, &credo.Error{Code: credo.ENOTFOUND, Field: "person", Message: fmt.Sprintf("%s has no open link to %s as %s", l.Person, l.Org, l.Role)}
}
