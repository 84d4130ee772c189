package http

import (
	"fmt"
	"net/url"

	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"credo"
	"credo/engine"
	"credo/registry"
	"credo/transparency"
)

// ownSubject returns the canonical subject a subject token is bound to.
func (s *Server) ownSubject(p *principal) (string, error) {
	id, err := s.reg.ParseSubject(p.token.Subject)
	if err != nil {
		return "", credo.Errorf(credo.EFORBIDDEN, "this subject token is bound to no valid subject: ask the registry operator for a new one")
	}
	return id.Canonical, nil
}

// subjectParam validates the {id} path parameter and applies a subject
// token's binding: a subject reads only its own file.
func (s *Server) subjectParam(r *http.Request, p *principal) (string, error) {
	raw := r.PathValue("id")
	id, err := s.reg.ParseSubject(raw)
	if err != nil {
		return "", invalid("id", "%s", credo.ErrorMessage(err))
	}
	if p.is(rSubject) {
		own, err := s.ownSubject(p)
		if err != nil {
			return "", err
		}
		if own != id.Canonical {
			return "", credo.Errorf(credo.EFORBIDDEN, "a subject token may read only its own file")
		}
	}
	return id.Canonical, nil
}

// queryTime parses an optional time query parameter.
func (s *Server) queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	pol, _, err := s.reg.Policy(r.Context())
	if err != nil {
		return time.Time{}, err
	}
	t, err := parseTime(name, v, pol.Location())
	if err == nil && (t.Year() < 1900 || t.Year() > 9999) {
		return time.Time{}, invalid(name, "%q is outside the years 1900 to 9999", v)
	}
	return t, err
}

// StateResponse is a subject's whole file at an instant: the engine's
// state (schemes with their contributions, listings, measures, records)
// and, for every sector where a measure is in force, the decision with its
// reasons.
type StateResponse struct {
	*engine.State
	Decisions []engine.Decision `json:"decisions"`
	// PartyNotices are the notices of records about organisations that
	// reach the subject through a link (as legal representative, ...):
	// the subject is a party to them and may object (registry.PartyNotices).
	PartyNotices []credo.Notice `json:"party_notices,omitempty"`
	// Receipt proves every event of the subject's file is in the log: a
	// signed checkpoint and each event's inclusion proof, verifiable
	// offline with the log's public key (credo receipt verify). Absent
	// when the registry signs no checkpoints.
	Receipt *transparency.Receipt `json:"receipt,omitempty"`
}

func (s *Server) handleState(w http.ResponseWriter, r *http.Request, p *principal) error {
	subject, err := s.subjectParam(r, p)
	if err != nil {
		return err
	}
	at, err := s.queryTime(r, "at")
	if err != nil {
		return err
	}
	known, err := s.queryTime(r, "known")
	if err != nil {
		return err
	}
	st, err := s.reg.State(r.Context(), subject, at, known)
	if err != nil {
		return err
	}
	resp := StateResponse{State: st, Decisions: []engine.Decision{}}
	var sectors []string
	for _, m := range st.Measures {
		if !slices.Contains(sectors, m.Sector) {
			sectors = append(sectors, m.Sector)
		}
	}
	for _, sec := range sectors {
		resp.Decisions = append(resp.Decisions, st.Decide(sec))
	}
	if st.Schemes == nil {
		st.Schemes = []engine.SchemeState{}
	}
	if st.Listings == nil {
		st.Listings = []engine.Listing{}
	}
	if st.Measures == nil {
		st.Measures = []engine.MeasureState{}
	}
	if st.Records == nil {
		st.Records = []engine.RecordState{}
	}
	if resp.PartyNotices, err = s.reg.PartyNotices(r.Context(), subject); err != nil {
		return err
	}
	if resp.Receipt, err = s.SubjectReceipt(r.Context(), subject); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, resp)
}

// HistoryPoint is a subject's standing in one scheme from an instant on:
// one point per change, for plotting (the registry's history walk).
type HistoryPoint = registry.HistoryPoint

// History is the answer to GET /v1/subjects/{id}/history.
type History struct {
	Subject string         `json:"subject"`
	From    time.Time      `json:"from"`
	To      time.Time      `json:"to"`
	Points  []HistoryPoint `json:"points"`
}

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request, p *principal) error {
	subject, err := s.subjectParam(r, p)
	if err != nil {
		return err
	}
	from, err := s.queryTime(r, "from")
	if err != nil {
		return err
	}
	to, err := s.queryTime(r, "to")
	if err != nil {
		return err
	}
	now := s.reg.Now()
	if to.IsZero() {
		to = now
	}
	if from.IsZero() {
		from = to.AddDate(-5, 0, 0)
	}
	if !from.Before(to) {
		return invalid("from", "must be before to")
	}
	if to.Sub(from) > 100*365*24*time.Hour {
		return invalid("from", "the span may be at most 100 years")
	}
	f, err := s.reg.Facts(r.Context(), subject)
	if err != nil {
		return err
	}
	walk, err := registry.WalkHistory(s.reg.Engine(), f, from, to, now)
	if err != nil {
		return err
	}
	h := History{Subject: subject, From: from, To: to, Points: walk.Points}
	if h.Points == nil {
		h.Points = []HistoryPoint{}
	}
	return writeJSON(w, http.StatusOK, h)
}

// SubjectChecks is the access log of a subject: every check anybody ran
// on it, newest first (principle 5).
type SubjectChecks struct {
	Subject string             `json:"subject"`
	Checks  []credo.CheckEntry `json:"checks"`
}

func (s *Server) handleSubjectChecks(w http.ResponseWriter, r *http.Request, p *principal) error {
	subject, err := s.subjectParam(r, p)
	if err != nil {
		return err
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return invalid("limit", "must be an integer from 1 to 10000")
		}
		limit = n
	}
	if err := s.checks.Flush(r.Context()); err != nil {
		return credo.Errorf(credo.EUNAVAILABLE, "the check log is catching up; try again")
	}
	cs, err := s.checkLog.ChecksOf(r.Context(), subject, limit)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []credo.CheckEntry{}
	}
	return writeJSON(w, http.StatusOK, SubjectChecks{Subject: subject, Checks: cs})
}

// ConsentRequest is the body of POST /v1/consents: a subject opts in to (or
// out of) being scored in a scheme.
type ConsentRequest struct {
	Scheme string `json:"scheme"`
	Given  *bool  `json:"given"`
}

func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q ConsentRequest
	if err := decodeJSON(w, r, &q, maxJSONBody); err != nil {
		return err
	}
	if q.Scheme == "" {
		return invalid("scheme", "is required")
	}
	if q.Given == nil {
		return invalid("given", "is required: true to opt in, false to withdraw")
	}
	subject, err := s.ownSubject(p)
	if err != nil {
		return err
	}
	// The registry appends nothing for a request that changes nothing: the
	// same consent again answers 200 with the event that gave it.
	ev, created, err := s.reg.Consent(r.Context(), subject, q.Scheme, *q.Given)
	if err != nil {
		return err
	}
	if !created {
		return writeJSON(w, http.StatusOK, ev)
	}
	return writeJSON(w, http.StatusCreated, ev)
}

// State returns a subject's state at instant at as known at known (zero
// values: now). The state comes over the wire: its PolicyDoc is nil, so
// call no method that needs the policy (Decide); StateResponse also
// returns the server's decision, with reasons, for every sector where a
// measure is in force.
func (c *Client) State(ctx context.Context, subject string, at, known time.Time) (*engine.State, error) {
	res, err := c.StateResponse(ctx, subject, at, known)
	if err != nil {
		return nil, err
	}
	return res.State, nil
}

// StateResponse is State with the decisions per sector.
func (c *Client) StateResponse(ctx context.Context, subject string, at, known time.Time) (*StateResponse, error) {
	q := url.Values{}
	if !at.IsZero() {
		q.Set("at", at.Format(time.RFC3339Nano))
	}
	if !known.IsZero() {
		q.Set("known", known.Format(time.RFC3339Nano))
	}
	res := &StateResponse{State: &engine.State{}}
	if err := c.do(ctx, http.MethodGet, "/v1/subjects/"+url.PathEscape(subject), q, nil, res); err != nil {
		return nil, err
	}
	return res, nil
}

// ChecksOf returns the checks run on a subject, newest first.
func (c *Client) ChecksOf(ctx context.Context, subject string, limit int) ([]credo.CheckEntry, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", fmt.Sprint(limit))
	}
	var res SubjectChecks
	if err := c.do(ctx, http.MethodGet, "/v1/subjects/"+url.PathEscape(subject)+"/checks", q, nil, &res); err != nil {
		return nil, err
	}
	return res.Checks, nil
}
