package http

import (
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
	cs, err := s.census.get(ctx)
	if err != nil {
		return err
	}
	match := matcher(s, q)
	loc := pol.Location()
	out := PublicList{List: l.ID, Title: l.Title, Kind: l.Kind, LegalBasis: l.LegalBasis, Contest: l.Contest,
		Fields: l.Publish, AsOf: cs.at, Entries: []map[string]any{}}
	if lc := cs.lists[l.ID]; lc != nil {
		entries := slices.Clone(lc.entries)
		slices.SortFunc(entries, func(a, b listEntry) int {
			if c := a.since.Compare(b.since); c != 0 {
				return -c // newest first
			}
			return strings.Compare(a.id.Canonical+a.caseRef, b.id.Canonical+b.caseRef)
		})
		for _, e := range entries {
			if !match(e) {
				continue
			}
			out.Total++
			if len(out.Entries) < limit {
				out.Entries = append(out.Entries, publish(e, l.Publish, cs.at, loc))
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
		return func(e listEntry) bool { return e.id.Canonical == id.Canonical }
	}
	lq := strings.ToLower(q)
	return func(e listEntry) bool { return e.name != "" && strings.Contains(strings.ToLower(e.name), lq) }
}

// publish returns the entry's published fields only.
func publish(e listEntry, fields []string, now time.Time, loc *time.Location) map[string]any {
	m := make(map[string]any, len(fields))
	for _, f := range fields {
		switch f {
		case "name":
			if e.name != "" {
				m[f] = e.name
			}
		case "identifier":
			m[f] = maskIdentifier(e.id)
		case "sex":
			if e.id.Sex != credo.SexUnknown {
				m[f] = e.id.Sex.String()
			}
		case "age":
			if e.id.HasBirth() {
				m[f] = e.id.AgeAt(now, loc)
			}
		case "region":
			if e.id.Province != "" {
				m[f] = e.id.Province
			}
		case "obligation":
			if e.obligation != "" {
				m[f] = e.obligation
			}
		case "conduct":
			if e.conduct != "" {
				m[f] = e.conduct
			}
		case "case_ref":
			if e.caseRef != "" {
				m[f] = e.caseRef
			}
		case "authority":
			if e.authority != "" {
				m[f] = e.authority
			}
		case "since":
			m[f] = e.since
		case "until":
			if !e.until.IsZero() {
				m[f] = e.until
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
