package policy

import (
	"fmt"
	"strings"
	"time"
)

// Retention says how long personal data is kept after the effect it served
// has ended, and under what law. Everything ends (principle 3), the data
// behind an effect too: a record's data from the instant it stops counting
// (its lifetime runs out, it is revoked, repaired or, for an until-fulfilled
// listing, fulfilled), a listing's data from the instant the listing ends,
// a logged check from the instant of the check.
//
// A zero Retain ("0d") is allowed for records and listings: the data is
// erased as soon as the effect ends.
type Retention struct {
	Retain     Duration `yaml:"retain"`
	LegalBasis string   `yaml:"legal_basis"`
	Source     string   `yaml:"source"`
}

// Declared reports whether a retention period is set.
func (r Retention) Declared() bool { return !r.Retain.IsZero() }

// Until returns the instant the data kept under r must be erased by, for an
// effect that ends at end: end plus the retention period in the policy's
// calendar. A zero end (an effect with no end yet) gives zero.
func (p *Policy) RetainUntil(r Retention, end time.Time) time.Time {
	if end.IsZero() || !r.Declared() {
		return time.Time{}
	}
	if r.Retain.N == 0 {
		return end
	}
	return p.Calendar.Add(end, r.Retain)
}

// PublishedUntil returns the instant an entry on a public list stops being
// published: the end of the listing (until; zero while it has none), or the
// end of the list's publication period from since, whichever is first.
// Zero means "while the listing is in force".
func (p *Policy) PublishedUntil(l *List, since, until time.Time) time.Time {
	if l == nil || l.PublishFor.IsZero() {
		return until
	}
	end := p.Calendar.Add(since, l.PublishFor)
	if !until.IsZero() && until.Before(end) {
		return until
	}
	return end
}

// Published reports whether an entry on list l that runs from since until
// until (zero: no end yet) is shown on the public list at instant at: the
// list is public, the entry has begun, and neither the listing nor the
// list's publication period (publish_for) has ended. Only the fields in
// l.Publish may be shown.
func (p *Policy) Published(l *List, since, until, at time.Time) bool {
	if l == nil || !l.Public || at.Before(since) {
		return false
	}
	end := p.PublishedUntil(l, since, until)
	return end.IsZero() || at.Before(end)
}

// validateRetention refuses personal data without a retention period, as
// validateRule refuses a rule without a lifetime: every rule, every list a
// rule enters and the check log say how long their data is kept after the
// effect ends, and under what law. A derived list keeps nothing of its own
// (its membership is recomputed from the records, which their rules keep),
// so its retention is optional.
func (c *checker) validateRetention() {
	p := c.p
	c.checkRetention("check_log", "check_log", p.CheckLog, true,
		"how long a logged check is kept after it was run (e.g. check_log: {retain: 2y, legal_basis: ...}); the subject sees the checks run on them, and the log must not outlive its purpose")
	if p.CheckLog.Declared() && p.CheckLog.Retain.N == 0 {
		c.errorf("check_log.retain", "check_log: retain must be more than zero: a subject has the right to learn who checked them")
	}
	for i, r := range p.Rules {
		c.checkRetention(fmt.Sprintf("rules[%d].retention", i), "rule "+r.Code, r.Retention, true,
			"how long a record's personal data is kept after it stops counting (e.g. retention: {retain: 5y, legal_basis: ...})")
	}
	for i, l := range p.Lists {
		path := fmt.Sprintf("lists[%d]", i)
		c.checkRetention(path+".retention", "list "+l.ID, l.Retention, !l.Derived(),
			"how long a listing's personal data is kept after the listing ends (e.g. retention: {retain: 3wd, legal_basis: ...})")
		if !l.PublishFor.IsZero() {
			switch {
			case !l.Public:
				c.errorf(path+".publish_for", "list %s: publish_for is set but the list is not public", l.ID)
			case l.PublishFor.N == 0:
				c.errorf(path+".publish_for", "list %s: publish_for must be more than zero (leave it out to publish while the listing is in force)", l.ID)
			}
		}
	}
}

func (c *checker) checkRetention(path, what string, r Retention, required bool, hint string) {
	switch {
	case !r.Declared() && (required || strings.TrimSpace(r.LegalBasis) != "" || r.Source != ""):
		c.errorf(path, "%s: retention is required: %s (principle 3: personal data ends too)", what, hint)
	case r.Declared() && strings.TrimSpace(r.LegalBasis) == "":
		c.errorf(path, "%s: retention needs a legal_basis: the law that sets or allows the period (principle 1)", what)
	}
}
