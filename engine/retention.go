package engine

import (
	"sort"
	"time"

	"credo/policy"
)

// Retained is one record of a subject and how long the policy keeps its
// personal data: retention runs from the end of the effect — the instant
// the record stops counting (lifetime, revocation, repair, fulfilment of an
// until-fulfilled obligation) or the last listing it caused ends, whichever
// is later — for the retention period of the rule or the list, whichever
// ends later. The record is the evidence behind its listings, so it is
// kept as long as either needs it.
type Retained struct {
	Subject  string    `json:"subject"`
	RecordID int64     `json:"record_id"`
	Rule     string    `json:"rule"`
	Decided  time.Time `json:"decided_at"`
	// EffectEnd is when the record's last effect ends, as known: for an
	// effect still running it is the latest end (an until-fulfilled
	// listing ends earlier once the obligation is performed).
	EffectEnd time.Time `json:"effect_end"`
	// Until is when its personal data is past retention; zero when no
	// retention applies (the policy in force has no such rule).
	Until time.Time `json:"retain_until,omitzero"`
	// By names what sets Until: "rule CODE" or "list ID"; Retain and
	// LegalBasis are that retention's period and legal basis.
	By         string `json:"by,omitempty"`
	Retain     string `json:"retain,omitempty"`
	LegalBasis string `json:"legal_basis,omitempty"`
	// Held says why the data is kept past Until for now: an objection to
	// the record is open, and erasing it would destroy what is contested.
	Held string `json:"held,omitempty"`
}

// Expired reports whether the record's data is past retention at t and
// nothing holds it.
func (r Retained) Expired(t time.Time) bool {
	return !r.Until.IsZero() && !t.Before(r.Until) && r.Held == ""
}

// Retention returns every record of the subject (as known at known) with
// the end of its retention under pol, in record order. Records of linked
// organisations are theirs, not the subject's, and are left out.
func Retention(pol *policy.Policy, f *Facts, known time.Time) []Retained {
	e := NewEvaluator()
	e.fold(f, known)
	held := map[int32]bool{} // records under an open objection
	for _, d := range e.disputes {
		if d.decidedAt.IsZero() {
			held[d.rec] = true
		}
	}
	cal := pol.Calendar
	out := make([]Retained, 0, len(e.recs))
	for i := range e.recs {
		r := &e.recs[i]
		if r.rec.Subject != "" && r.rec.Subject != f.ID.Canonical {
			continue
		}
		it := Retained{Subject: f.ID.Canonical, RecordID: r.rec.ID, Rule: r.rec.Rule, Decided: r.rec.DecidedAt}
		if held[r.idx] {
			it.Held = "objection open"
		}
		rule := pol.Rule(r.rec.Rule)
		if rule == nil {
			out = append(out, it)
			continue
		}
		end := minTime(cal.Add(r.rec.DecidedAt, rule.Lifetime), r.revokedAt, r.repaired)
		if hasUntilFulfilled(rule) {
			end = minTime(end, r.fulfilled)
		}
		if r.void {
			end = minTime(r.revokedAt, end)
		}
		it.EffectEnd = end
		set := func(by string, ret policy.Retention, effectEnd time.Time) {
			if effectEnd.After(it.EffectEnd) {
				it.EffectEnd = effectEnd
			}
			u := pol.RetainUntil(ret, effectEnd)
			if u.IsZero() || !u.After(it.Until) && !it.Until.IsZero() {
				return
			}
			it.Until, it.By, it.Retain, it.LegalBasis = u, by, ret.Retain.String(), ret.LegalBasis
		}
		set("rule "+rule.Code, rule.Retention, end)
		if !r.void {
			for _, lid := range rule.ListIDs() {
				l := pol.List(lid)
				if l == nil || l.Derived() {
					continue
				}
				_, to := spanOf(pol, l, rule.Lists[lid], r.rec, r.fulfilled, r.revokedAt, r.repaired)
				set("list "+lid, l.Retention, to)
			}
		}
		out = append(out, it)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].RecordID < out[j].RecordID })
	return out
}

// SubjectRetention is what erasure needs to know of one subject at an
// instant: the records past retention, and when the subject's last
// retained record is past it — the instant the subject as a whole may be
// forgotten (their data key destroyed, once crypto-shredding is built).
type SubjectRetention struct {
	Subject string     `json:"subject"`
	At      time.Time  `json:"at"`
	Items   []Retained `json:"items"`
	// Expired are the items past retention at At.
	Expired []Retained `json:"expired"`
	// LastUntil is when the last item is past retention (zero: the subject
	// has no records). Open is set when some item has no end yet: held by
	// an open objection, or without a rule in the policy in force.
	LastUntil time.Time `json:"last_until,omitzero"`
	Open      bool      `json:"open,omitempty"`
}

// Forgettable reports whether every record of the subject is past
// retention at At (and there is at least one): the subject may be erased.
func (s SubjectRetention) Forgettable() bool {
	return len(s.Items) > 0 && !s.Open && !s.At.Before(s.LastUntil)
}

// RetentionAt evaluates a subject's retention at instant at, from the
// events known at known.
func RetentionAt(pol *policy.Policy, f *Facts, at, known time.Time) SubjectRetention {
	s := SubjectRetention{Subject: f.ID.Canonical, At: at, Items: Retention(pol, f, known), Expired: []Retained{}}
	for _, it := range s.Items {
		if it.Until.IsZero() || it.Held != "" {
			s.Open = true
		}
		if it.Until.After(s.LastUntil) {
			s.LastUntil = it.Until
		}
		if it.Expired(at) {
			s.Expired = append(s.Expired, it)
		}
	}
	return s
}

// CheckRetainUntil is when a check logged at checked is past the check
// log's retention under pol.
func CheckRetainUntil(pol *policy.Policy, checked time.Time) time.Time {
	return pol.RetainUntil(pol.CheckLog, checked)
}
