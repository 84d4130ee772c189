package http

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"credo"
	"credo/engine"
	"credo/policy"
	"credo/registry"
)

// CheckRequest is the body of POST /v1/checks.
type CheckRequest struct {
	Subject string `json:"subject"`
	Sector  string `json:"sector"`
	// Kind is "person" or "org": required only for 18 digits that read
	// both as an ID card number and as a credit code.
	Kind string `json:"kind,omitempty"`
}

// subjectKind parses the optional kind of subject of a check.
func subjectKind(field, s string) (credo.SubjectKind, error) {
	if s == "" {
		return credo.KindUnknown, nil
	}
	k, ok := credo.ParseSubjectKind(s)
	if !ok {
		return k, invalid(field, "%q is not a kind of subject: person or org", s)
	}
	return k, nil
}

// CheckResult is what a service provider learns from a check (principle 7,
// minimal disclosure): allow, limit or deny for its own sector, the limit's
// parameters, the measures behind the answer with their legal basis, end
// date and how to contest them — never a score, a tier or a record.
type CheckResult struct {
	CheckID  string             `json:"check_id"`
	Subject  string             `json:"subject"`
	Sector   string             `json:"sector"`
	Decision string             `json:"decision"` // allow | limit | deny
	Params   map[string]float64 `json:"params,omitempty"`
	// Measures are the ids of the sector's measures in force that shaped
	// the answer (sanctions and grants).
	Measures []string      `json:"measures,omitempty"`
	Grants   []string      `json:"grants,omitempty"`
	Reasons  []CheckReason `json:"reasons"`
	// Contest says where to contest the decision (absent for a plain allow).
	Contest string    `json:"contest,omitempty"`
	Policy  string    `json:"policy"`
	At      time.Time `json:"at"`
	// LogPosition is the sequence number up to which the answering node's
	// decision table reflected every event of the log (also in the
	// Credo-Log-Position header).
	LogPosition int64 `json:"log_position"`
	// CheckpointSize is the tree size of the latest checkpoint the
	// registry had signed when it answered (absent: it signs none).
	CheckpointSize int64 `json:"checkpoint_size,omitempty"`

	// What the reasons were disclosed from, to give their texts in the
	// language the client asks for (only answers other than a plain allow
	// have any).
	pol     *policy.Policy
	reasons []engine.Reason
}

// CheckReason is one measure behind a check's answer, as a service
// provider may see it: lists are named only when they are public.
type CheckReason struct {
	Code       string    `json:"code"`
	Effect     string    `json:"effect"`
	Lists      []string  `json:"lists,omitempty"`
	LegalBasis string    `json:"legal_basis"`
	Until      time.Time `json:"until,omitzero"`
	Contest    string    `json:"contest"`
}

// decision converts the result into the registry's decision type.
func (c *CheckResult) decision() engine.Decision {
	d := engine.Decision{Subject: c.Subject, Sector: c.Sector, Decision: c.Decision, Params: c.Params, Grants: c.Grants, Policy: c.Policy}
	for _, r := range c.Reasons {
		d.Reasons = append(d.Reasons, engine.Reason{Code: r.Code, Effect: r.Effect, Lists: r.Lists, LegalBasis: r.LegalBasis, Until: r.Until, Contest: r.Contest})
	}
	return d
}

var noReasons = []CheckReason{}

// mayCheck authorises a sector: a checker may check only its own sectors.
func mayCheck(p *principal, sector string) error {
	if sector == "" {
		return invalid("sector", "is required")
	}
	if !p.mayCheck(sector) {
		return &credo.Error{Code: credo.EFORBIDDEN, Field: "sector", Message: fmt.Sprintf("this token may not check sector %q (its sectors: %v)", sector, p.token.Sectors)}
	}
	return nil
}

// checkRequest is the registry's check for a principal: who asks, logged.
func (s *Server) checkRequest(p *principal, sector string, kind credo.SubjectKind, issued time.Time) registry.CheckRequest {
	q := registry.CheckRequest{Sector: sector, Kind: kind, Issued: issued}
	if p.token != nil {
		q.Checker, q.Org = p.token.ID, p.token.Name
	}
	return q
}

// result discloses an answer the registry made and logged: what a
// service provider may learn of it (principle 7), never more.
func (s *Server) result(a *registry.CheckAnswer, res *CheckResult) {
	d := &a.Decision
	*res = CheckResult{CheckID: a.Entry.ID, Subject: d.Subject, Sector: d.Sector, Decision: d.Decision, Reasons: noReasons, Policy: d.Policy,
		At: a.Entry.At, LogPosition: a.Position, CheckpointSize: s.checkpointSize()}
	if loc := s.zone(); loc != nil {
		res.At = res.At.In(loc) // the policy zone's offset, as every instant in the API (zone.go)
	}
	if a.Explained {
		disclose(res, d, a.Policy, a.Entry.Measures)
	}
	s.metrics.check(res.Sector, res.Decision)
	s.metrics.countStat(res.Sector, res.Decision, a.Entry.At)
}

// disclose copies into res what a service provider may learn of a
// decision: no record ids, no link to another subject, and only the
// public lists among the reasons.
func disclose(res *CheckResult, d *engine.Decision, pol *policy.Policy, measures []string) {
	res.Params, res.Grants, res.Measures = d.Params, d.Grants, measures
	res.pol, res.reasons = pol, d.Reasons
	res.Reasons = make([]CheckReason, 0, len(d.Reasons))
	for _, r := range d.Reasons {
		cr := CheckReason{Code: r.Code, Effect: r.Effect, LegalBasis: r.LegalBasis, Until: r.Until, Contest: r.Contest}
		for _, l := range r.Lists {
			if pl := pol.List(l); pl != nil && pl.Public {
				cr.Lists = append(cr.Lists, l)
			}
		}
		res.Reasons = append(res.Reasons, cr)
		if res.Contest == "" {
			res.Contest = r.Contest
		}
	}
}

// localize gives the reasons' legal bases and contest texts in the
// language of an Accept-Language header (q-weights honoured); the policy's
// first language when it asks for none Credo speaks.
func (c *CheckResult) localize(accept string) string {
	if c.pol == nil || len(c.reasons) != len(c.Reasons) {
		return ""
	}
	if accept == "" {
		return c.pol.FirstLanguage()
	}
	lang := policy.Negotiate(accept)
	c.Contest = ""
	for i, r := range c.reasons {
		c.Reasons[i].LegalBasis = r.LegalBasisIn(c.pol, lang)
		c.Reasons[i].Contest = r.ContestIn(c.pol, lang)
		if c.Contest == "" {
			c.Contest = c.Reasons[i].Contest
		}
	}
	return lang
}

func (s *Server) handleCheck(w http.ResponseWriter, r *http.Request, p *principal) error {
	buf := getBuf()
	defer putBuf(buf)
	if err := readBody(r, buf, maxJSONBody); err != nil {
		return err
	}
	var q CheckRequest
	if !parseCheckFast(buf.Bytes(), &q) {
		slow := new(CheckRequest)
		if err := unmarshalStrict(buf.Bytes(), slow); err != nil {
			return err
		}
		q = *slow
	}
	if q.Subject == "" {
		return invalid("subject", "is required")
	}
	kind, err := subjectKind("kind", q.Kind)
	if err != nil {
		return err
	}
	if err := mayCheck(p, q.Sector); err != nil {
		return err
	}
	cq := s.checkRequest(p, q.Sector, kind, wallClock(w))
	cq.Subject = q.Subject
	a, err := s.checks.CheckAndLog(r.Context(), cq)
	if err != nil {
		return err // not answered: not logged
	}
	var res CheckResult
	s.result(&a, &res)
	setPosition(w, a.Position)
	if !plainAllow(&res) {
		out := new(CheckResult)
		*out = res
		if lang := out.localize(r.Header.Get("Accept-Language")); lang != "" {
			w.Header().Set("Content-Language", lang)
		}
		return writeJSON(w, http.StatusOK, out)
	}
	b := appendAllow(buf.Bytes()[:0], &res)
	setJSONHeaders(w)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}

// wallClock returns the instant the request was admitted.
func wallClock(w http.ResponseWriter) time.Time {
	if rw, ok := w.(*responseWriter); ok && !rw.start.IsZero() {
		return rw.start
	}
	return time.Now()
}

// CheckBatchRequest is the body of POST /v1/checks/batch.
type CheckBatchRequest struct {
	Sector   string   `json:"sector"`
	Subjects []string `json:"subjects"`
	// Kind is the kind of every subject, "person" or "org" (optional).
	Kind string `json:"kind,omitempty"`
}

// CheckBatchResponse answers a batch check, one item per subject in order.
type CheckBatchResponse struct {
	Decisions []CheckBatchItem `json:"decisions"`
}

// CheckBatchItem is one subject's answer in a batch: the check's result,
// or the error that prevented it (with the subject as given).
type CheckBatchItem struct {
	Subject string   `json:"subject"`
	Error   *Problem `json:"error,omitempty"`
	*CheckResult
}

func (s *Server) handleCheckBatch(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q CheckBatchRequest
	if err := decodeJSON(w, r, &q, maxJSONBody); err != nil {
		return err
	}
	if len(q.Subjects) == 0 {
		return invalid("subjects", "is required: at least one subject")
	}
	if len(q.Subjects) > s.opts.MaxBatchChecks {
		return invalid("subjects", "has %d subjects; at most %d per batch", len(q.Subjects), s.opts.MaxBatchChecks)
	}
	kind, err := subjectKind("kind", q.Kind)
	if err != nil {
		return err
	}
	if err := mayCheck(p, q.Sector); err != nil {
		return err
	}
	answers, errs, err := s.checks.CheckAndLogEach(r.Context(), s.checkRequest(p, q.Sector, kind, wallClock(w)), q.Subjects)
	if err != nil {
		return err // not answered: not logged
	}
	out := CheckBatchResponse{Decisions: make([]CheckBatchItem, len(q.Subjects))}
	results := make([]CheckResult, len(q.Subjects))
	position := answers[0].Position // one table position for the whole batch
	for i, subj := range q.Subjects {
		if err := errs[i]; err != nil {
			pr, _ := problemOf(err)
			pr.Field = fmt.Sprintf("subjects[%d]", i)
			out.Decisions[i] = CheckBatchItem{Subject: subj, Error: &pr}
			continue
		}
		res := &results[i]
		s.result(&answers[i], res)
		res.localize(r.Header.Get("Accept-Language"))
		out.Decisions[i] = CheckBatchItem{Subject: res.Subject, CheckResult: res}
	}
	setPosition(w, position)
	return writeJSON(w, http.StatusOK, out)
}

// Replay is the answer to GET /v1/checks/{id}: the check as logged, the
// decision recomputed from the knowledge it had at the instant it was made,
// with every reason, and whether the two agree.
type Replay struct {
	Check    credo.CheckEntry `json:"check"`
	Decision engine.Decision  `json:"decision"`
	Matches  bool             `json:"matches"`
}

func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	if !registry.ValidCheckID(id) {
		return invalid("id", "%q is not a check id", id)
	}
	ctx := r.Context()
	e, err := s.checks.Logged(ctx, id)
	if credo.ErrorCode(err) == credo.ENOTFOUND {
		return noCheck(id) // the same answer as for a check on someone else
	}
	if err != nil {
		return err
	}
	if p.is(rSubject) {
		own, err := s.ownSubject(p)
		if err != nil {
			return err
		}
		if own != e.Subject {
			return noCheck(id) // don't reveal checks on others
		}
	}
	d, matches, err := s.reg.Replay(ctx, e)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, Replay{Check: *e, Decision: d, Matches: matches})
}

// Check asks whether subject may use sector now.
func (c *Client) Check(ctx context.Context, subject, sector string) (engine.Decision, error) {
	res, err := c.CheckResult(ctx, subject, sector)
	if err != nil {
		return engine.Decision{}, err
	}
	return res.decision(), nil
}

// CheckResult is Check with the server's full answer, including the check id.
func (c *Client) CheckResult(ctx context.Context, subject, sector string) (*CheckResult, error) {
	var res CheckResult
	if err := c.do(ctx, http.MethodPost, "/v1/checks", nil, CheckRequest{Subject: subject, Sector: sector}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// BatchDecision is one subject's answer in a batch check: a decision, or
// the error that prevented it.
type BatchDecision struct {
	CheckID  string
	Decision engine.Decision
	Err      error
}

// CheckBatch checks many subjects in one sector (at most 1000 per call).
func (c *Client) CheckBatch(ctx context.Context, sector string, subjects []string) ([]BatchDecision, error) {
	var res CheckBatchResponse
	if err := c.do(ctx, http.MethodPost, "/v1/checks/batch", nil, CheckBatchRequest{Sector: sector, Subjects: subjects}, &res); err != nil {
		return nil, err
	}
	out := make([]BatchDecision, len(res.Decisions))
	for i, it := range res.Decisions {
		switch {
		case it.Error != nil:
			out[i].Err = problemError(*it.Error)
		case it.CheckResult != nil:
			it.CheckResult.Subject = it.Subject
			out[i] = BatchDecision{CheckID: it.CheckID, Decision: it.CheckResult.decision()}
		default:
			out[i].Err = credo.Errorf(credo.EINTERNAL, "the server gave no answer for subject %d", i)
		}
	}
	return out, nil
}

// Replay replays a logged check by id.
func (c *Client) Replay(ctx context.Context, checkID string) (*Replay, error) {
	var res Replay
	if err := c.do(ctx, http.MethodGet, "/v1/checks/"+url.PathEscape(checkID), nil, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Answer asks a check through the API (credo.CheckService): the server
// answers for now only, in q.Lang, and logs the check under the token.
func (c *Client) Answer(ctx context.Context, q credo.CheckQuery) (engine.Decision, error) {
	switch {
	case !q.At.IsZero():
		return engine.Decision{}, credo.FieldErrorf("at", "a server answers checks for now only; replay a logged check by its id instead")
	case !q.Known.IsZero():
		return engine.Decision{}, credo.FieldErrorf("known", "a server answers checks for now only; replay a logged check by its id instead")
	}
	if q.Lang != "" && q.Lang != c.Lang {
		cc := *c
		cc.Lang = q.Lang
		return cc.Check(ctx, q.Subject, q.Sector)
	}
	return c.Check(ctx, q.Subject, q.Sector)
}
