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
		if ok, wait := s.lookups.allow(remoteHost(r), time.Now()); !ok {
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
	fields := PublishedFields(l.Publish)
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
	return MatchEntry(q, func(q string) (ident.ID, error) { return s.reg.ParseSubject(q) })
}

// MatchEntry returns the test of a public list entry against a query (the
// API's and the portal's): see matcher.
func MatchEntry(q string, parse func(string) (ident.ID, error)) func(registry.ListEntry) bool {
	if q == "" {
		return func(registry.ListEntry) bool { return true }
	}
	if id, err := parse(q); err == nil {
		m := MaskIdentifier(id)
		return func(e registry.ListEntry) bool { return MaskIdentifier(e.ID) == m }
	}
	if mq := strings.ToUpper(q); len(mq) == 18 && strings.Contains(mq, "*") {
		return func(e registry.ListEntry) bool { return MaskIdentifier(e.ID) == mq }
	}
	lq := strings.ToLower(q)
	return func(e registry.ListEntry) bool { return e.Name != "" && strings.Contains(strings.ToLower(e.Name), lq) }
}

// PublishedFields are the fields of a public list that are shown: those
// the policy publishes, but never the age. With the district and the
// sequence number a masked identifier shows, the age narrows a person's
// number to a few dozen candidates (the check character to a handful): a
// listed person could be unmasked from the list alone.
func PublishedFields(fields []string) []string {
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		if f != "age" {
			out = append(out, f)
		}
	}
	return out
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
			m[f] = MaskIdentifier(e.ID)
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

// MaskIdentifier hides the birth date and the check character of a
// Resident Identity Card number: the district (6 digits) and the sequence
// number (3) stay, so that namesakes can be told apart, but nothing that
// narrows the birth date (about 36,000 numbers share one mask).
// Organisation codes and passports are shown whole.
func MaskIdentifier(id ident.ID) string {
	if id.Scheme == ident.RIC && len(id.Canonical) == 18 {
		return id.Canonical[:6] + "********" + id.Canonical[14:17] + "*"
	}
	return id.Canonical
}
