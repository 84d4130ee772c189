package http

import (
	"credo/policy"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"credo"
	"credo/ident"
)

// PublicList is the answer to GET /v1/lists/{id}: the current entries of
// a public list that match the query, showing only the fields the policy
// publishes for that list — never a score or a tier.
type PublicList struct {
	List       string           `json:"list"`
	Title      string           `json:"title,omitempty"`
	Kind       string           `json:"kind"`
	LegalBasis string           `json:"legal_basis"`
	Contest    string           `json:"contest,omitempty"`
	Fields     []string         `json:"fields"`
	AsOf       time.Time        `json:"as_of"`
	Total      int              `json:"total"`
	Entries    []map[string]any `json:"entries"`
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request, p *principal) error {
	ctx := r.Context()
	listID := r.PathValue("id")
	pol, _, err := s.reg.Policy(ctx)
	if err != nil {
		return err
	}
	l := pol.List(listID)
	if l == nil || !l.Public {
		// Whether a non-public list exists is not the public's business.
		return credo.Errorf(credo.ENOTFOUND, "no public list %q", listID)
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 200 {
		return invalid("q", "is longer than 200 characters")
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return invalid("limit", "must be an integer from 1 to 1000")
		}
		limit = n
	}
	cs, err := s.census.Get(ctx)
	if err != nil {
		return err
	}
	match := matcher(s, q)
	loc := pol.Location()
	lang := policy.Negotiate(r.Header.Get("Accept-Language"))
	out := PublicList{List: l.ID, Title: l.Title.For(lang), Kind: l.Kind, LegalBasis: l.LegalBasis.For(lang), Contest: l.Contest.For(lang),
		Fields: l.Publish, AsOf: cs.At, Entries: []map[string]any{}}
	if lc := cs.Entries[l.ID]; lc != nil {
		entries := slices.Clone(lc)
		slices.SortFunc(entries, func(a, b listEntry) int {
			if c := a.Since.Compare(b.Since); c != 0 {
				return -c // newest first
			}
			return strings.Compare(a.ID.Canonical+a.CaseRef, b.ID.Canonical+b.CaseRef)
		})
		for _, e := range entries {
			if !match(e) {
				continue
			}
			out.Total++
			if len(out.Entries) < limit {
				out.Entries = append(out.Entries, publish(e.In(pol, lang), l.Publish, cs.At, loc))
			}
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// matcher returns the test of an entry against q: an exact identifier if q
// parses as one, else a case-insensitive substring of the name.
func matcher(s *Server, q string) func(listEntry) bool {
	if q == "" {
		return func(listEntry) bool { return true }
	}
	if id, err := s.reg.ParseSubject(q); err == nil {
		return func(e listEntry) bool { return e.ID.Canonical == id.Canonical }
	}
	lq := strings.ToLower(q)
	return func(e listEntry) bool { return e.Name != "" && strings.Contains(strings.ToLower(e.Name), lq) }
}

// publish returns the entry's published fields only.
func publish(e listEntry, fields []string, now time.Time, loc *time.Location) map[string]any {
	m := make(map[string]any, len(fields))
	for _, f := range fields {
		switch f {
		case "name":
			if e.Name != "" {
				m[f] = e.Name
			}
		case "identifier":
			m[f] = maskIdentifier(e.ID)
		case "sex":
			if e.ID.Sex != credo.SexUnknown {
				m[f] = e.ID.Sex.String()
			}
		case "age":
			if e.ID.HasBirth() {
				m[f] = e.ID.AgeAt(now, loc)
			}
		case "region":
			if e.ID.Province != "" {
				m[f] = e.ID.Province
			}
		case "obligation":
			if e.Obligation != "" {
				m[f] = e.Obligation
			}
		case "conduct":
			if e.Conduct != "" {
				m[f] = e.Conduct
			}
		case "case_ref":
			if e.CaseRef != "" {
				m[f] = e.CaseRef
			}
		case "authority":
			if e.Authority != "" {
				m[f] = e.Authority
			}
		case "since":
			m[f] = e.Since
		case "until":
			if !e.Until.IsZero() {
				m[f] = e.Until
			}
		}
	}
	return m
}

// maskIdentifier hides the birth date in a Resident Identity Card number
// (as the published lists of dishonest debtors do); organisation codes and
// passports are shown whole.
func maskIdentifier(id ident.ID) string {
	if id.Scheme == ident.RIC && len(id.Canonical) == 18 {
		return id.Canonical[:6] + "********" + id.Canonical[14:]
	}
	return id.Canonical
}
