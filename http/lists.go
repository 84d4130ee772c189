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
	"credo/registry"
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
	if q != "" && p.token == nil && s.lookups != nil {
		// Anonymous lookups are limited per address, like sign-in.
		if ok, wait := s.lookups.Allow(remoteHost(r), time.Now()); !ok {
			s.metrics.reject("lookups")
			return &httpError{kind: kindRateLimited, detail: "too many public list lookups from this address: slow down",
				headers: map[string]string{"Retry-After": retryAfter(wait)}}
		}
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return invalid("limit", "must be an integer from 1 to 1000")
		}
		limit = n
	}
	// Anybody may ask: the answer comes from the census built in the
	// background, never from a scan of the log on this request (a token
	// holder, accountable and rate limited, may wait for a fresh one).
	get := s.census.Current
	if p.token != nil {
		get = s.census.Get
	}
	cs, err := get(ctx)
	if err != nil {
		return err
	}
	match := matcher(s, q)
	loc := pol.Location()
	lang := policy.Negotiate(r.Header.Get("Accept-Language"))
	fields := registry.PublishedFields(l.Publish)
	out := PublicList{List: l.ID, Title: l.Title.For(lang), Kind: l.Kind, LegalBasis: l.LegalBasis.For(lang), Contest: l.Contest.For(lang),
		Fields: fields, AsOf: cs.At, Entries: []map[string]any{}}
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
				out.Entries = append(out.Entries, publish(e.In(pol, lang), fields, cs.At, loc))
			}
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// matcher returns the test of an entry against q: an identifier (whole,
// or masked as the list shows it) if q is one, else a case-insensitive
// substring of the name.
//
// An identifier is compared in its masked form: a caller who knows a
// person's number finds the entries shown under its mask, and every
// number with the same mask gets the same answer, so the lookup cannot
// confirm which of the numbers a masked entry could be is the right one.
func matcher(s *Server, q string) func(listEntry) bool {
	return registry.MatchEntry(q, func(q string) (ident.ID, error) { return s.reg.ParseSubject(q) })
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
			m[f] = registry.MaskIdentifier(e.ID)
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
