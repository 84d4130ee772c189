package engine

import (
	"fmt"
	"time"

	"credo/policy"
)

// Decision effects.
const (
	Allow = "allow"
	Limit = "limit"
	Deny  = "deny"
)

// Decision is the answer to "may this subject use this sector now?": all a
// service provider learns (principle 7) — never a score, never a record's
// content.
type Decision struct {
	Subject  string             `json:"subject"`
	Sector   string             `json:"sector"`
	Decision string             `json:"decision"` // allow | limit | deny
	Params   map[string]float64 `json:"params,omitempty"`
	Grants   []string           `json:"grants,omitempty"`
	Reasons  []Reason           `json:"reasons,omitempty"`
	Policy   string             `json:"policy,omitempty"`
}

// Reason explains one measure behind a decision.
type Reason struct {
	Code       string    `json:"code"` // the measure id
	Effect     string    `json:"effect"`
	Lists      []string  `json:"lists,omitempty"`
	Records    []int64   `json:"records,omitempty"` // ids only; the subject can read them, a checker cannot
	LegalBasis string    `json:"legal_basis"`
	Until      time.Time `json:"until,omitzero"`
	Via        string    `json:"via,omitempty"` // organisation, when the measure reaches a responsible person
	// ExemptPrivate: the measure reaches the person through an
	// organisation and does not restrict spending their own money for
	// private purposes; Note says so in words.
	ExemptPrivate bool   `json:"exempt_private,omitempty"`
	Note          string `json:"note,omitempty"`
	Contest       string `json:"contest"` // in the policy's first language; ContestIn gives it in another

	contest *contestSource
}

// PrivatePurposesNote is the reason's note on a measure that reaches a
// person through an organisation but exempts private purposes.
const PrivatePurposesNote = "This measure reaches you as a responsible person of the organisation; it does not restrict spending your own money for private purposes (SPC provisions on restricting high consumption, 2015, art. 3 para. 3)."

// Decide returns the decision for a sector: deny if any deny measure is in
// force, else limit with the strictest parameters, else allow; grants are
// reported alongside.
func (s *State) Decide(sector string) Decision {
	d := Decision{Subject: s.Subject, Sector: sector, Decision: Allow, Policy: s.Policy}
	for _, ms := range s.Measures {
		if ms.Sector != sector {
			continue
		}
		switch ms.Effect {
		case Deny:
			d.Decision = Deny
		case Limit:
			if d.Decision != Deny {
				d.Decision = Limit
			}
			d.Params = strictest(d.Params, ms.Params)
		case "grant":
			d.Grants = append(d.Grants, ms.Measure)
			continue
		}
		d.Reasons = append(d.Reasons, s.reason(ms))
	}
	if d.Decision == Deny {
		d.Params = nil
		kept := d.Reasons[:0]
		for _, r := range d.Reasons {
			if r.Effect == Deny {
				kept = append(kept, r)
			}
		}
		d.Reasons = kept
	}
	return d
}

// strictest merges limit parameters: for every parameter the smallest value
// wins (limits are ceilings: max_mbps, max_amount...).
func strictest(a, b map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if cur, ok := out[k]; !ok || v < cur {
			out[k] = v
		}
	}
	return out
}

func (s *State) reason(ms MeasureState) Reason {
	r := Reason{Code: ms.Measure, Effect: ms.Effect, Lists: ms.Lists, LegalBasis: ms.LegalBasis, Until: ms.Until, Via: ms.Via}
	src := &contestSource{}
	for _, lid := range ms.Lists {
		li := s.Listing(lid)
		if li == nil {
			continue
		}
		r.Records = append(r.Records, li.Records...)
		l := s.pol.List(lid)
		src.review = s.pol.DisputeProcedureFor(l).Review
		if !l.Contest.IsZero() {
			src.list = l
		}
		for _, id := range li.Records {
			if rs := s.Record(id); rs != nil && src.authority == "" {
				src.authority = rs.Record.Authority
			}
		}
		if li.Derived && src.list == nil {
			src.derived = true
		}
	}
	r.contest = src
	r.Contest = r.ContestIn(s.pol, s.pol.FirstLanguage())
	if ms.Via != "" && ms.ExemptPrivate {
		r.ExemptPrivate, r.Note = true, PrivatePurposesNote
	}
	if ms.Via != "" {
		r.Records = nil // the organisation's records are not the person's to see here
	}
	return r
}

// contestSource is what a reason's contest text is made from, so that it
// can be given in any language.
type contestSource struct {
	list      *policy.List // the list whose contest text applies
	derived   bool         // the listing follows from a score
	authority string       // the authority that filed a record behind it
	review    policy.Duration
}

// ContestIn returns where and how to contest the reason, in lang: the
// list's contest text, or Credo's own. A reason not computed by the
// engine (decoded from JSON) keeps its Contest as it is.
func (r Reason) ContestIn(pol *policy.Policy, lang string) string {
	src := r.contest
	if src == nil || pol == nil {
		return r.Contest
	}
	if src.list != nil {
		return src.list.Contest.For(lang)
	}
	zh := lang == "zh-CN"
	if src.derived {
		if zh {
			return "该名单由信用分值得出：请在Credo个人门户对其所依据的记录提出异议，每条记录由作出记录的机关复核。"
		}
		return "The listing follows from the subject's score: object to the records behind it in the Credo citizen portal; each is reviewed by the authority that filed it."
	}
	if src.authority != "" {
		name := src.authority
		if a := pol.Authority(name); a != nil {
			name = a.Name.For(lang)
		}
		if zh {
			return fmt.Sprintf("请通过Credo个人门户或向%s提出异议；异议在%s内复核。", name, durationZH(src.review))
		}
		return fmt.Sprintf("Object in the Credo citizen portal or at %s; the objection is reviewed within %s.", name, src.review)
	}
	if zh {
		return "请通过Credo个人门户提出异议。"
	}
	return "Object in the Credo citizen portal."
}

// LegalBasisIn returns the legal basis of the reason's measure in lang.
func (r Reason) LegalBasisIn(pol *policy.Policy, lang string) string {
	if pol != nil {
		if m := pol.Measure(r.Code); m != nil && m.LegalBasis.String() == r.LegalBasis {
			return m.LegalBasis.For(lang)
		}
	}
	return r.LegalBasis
}

// durationZH spells a policy duration in Chinese ("15个工作日").
func durationZH(d policy.Duration) string {
	unit := map[policy.Unit]string{policy.Days: "日", policy.WorkDays: "个工作日", policy.Months: "个月", policy.Years: "年"}[d.Unit]
	return fmt.Sprintf("%d%s", d.N, unit)
}
