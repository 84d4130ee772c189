package http

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"credo"
	"credo/registry"
)

// Due process over HTTP: a subject (or an admin for them) objects to a
// record, appeals an upheld objection, applies for credit repair; the
// authority responsible decides; each side lists its own items with their
// deadlines. The registry enforces who may decide what; the handlers bind
// tokens to their subject or authority.

// DisputeRequest is the body of POST /v1/disputes: an objection to a
// record, or an appeal against the upheld decision on the last one.
type DisputeRequest = credo.DisputeRequest

// DisputeDecisionRequest is the body of POST /v1/disputes/{id}/decision.
type DisputeDecisionRequest struct {
	Outcome string `json:"outcome"` // upheld | corrected | revoked
	Reason  string `json:"reason"`
	// DecidedAt is when the decision was taken, if not now (a decision
	// taken on paper): not in the future, not before the dispute opened.
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

// DisputeList is the answer of GET /v1/disputes.
type DisputeList struct {
	At       time.Time              `json:"at"`
	Disputes []registry.DisputeCase `json:"disputes"`
}

// RepairRequest is the body of POST /v1/repairs: a credit-repair
// application.
type RepairRequest = credo.RepairRequest

// RepairDecisionRequest is the body of POST /v1/repairs/{id}/decision.
type RepairDecisionRequest struct {
	Outcome string `json:"outcome"` // approved | refused
	Reason  string `json:"reason,omitempty"`
	// DecidedAt is when the decision was taken, if not now: not in the
	// future, not before the application was made.
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

// RepairList is the answer of GET /v1/repairs.
type RepairList struct {
	At      time.Time             `json:"at"`
	Repairs []registry.RepairCase `json:"repairs"`
}

// Default and maximum number of items in a list answer.
const (
	defaultListLimit = 1000
	maxListLimit     = 10000
)

// ownRecord loads the record a subject acts on and applies a subject
// token's binding; it returns the actor of the step.
func (s *Server) ownRecord(ctx context.Context, p *principal, id int64) (string, error) {
	if id <= 0 {
		return "", invalid("record_id", "is required: the id of the record")
	}
	rec, err := s.reg.Store().Record(ctx, id)
	if err != nil {
		if credo.ErrorCode(err) == credo.ENOTFOUND {
			return "", noRecord("record_id", id)
		}
		return "", err
	}
	if !p.is(rSubject) {
		return registry.ActorAdmin, nil
	}
	own, err := s.ownSubject(p)
	if err != nil {
		return "", err
	}
	if rec.Subject != own {
		// A person the record reaches through a link is a party to it.
		if party, err := s.reg.IsParty(ctx, rec.ID, own); err != nil || party {
			return registry.ActorSubject, err
		}
		// Whether a record about somebody else exists is not the
		// subject's business: the same answer as for a missing one.
		return "", noRecord("record_id", id)
	}
	return registry.ActorSubject, nil
}

// deciderOf is the actor of a decision: the token's authority, or admin.
func deciderOf(p *principal) string {
	if p.is(rAuthority) {
		return p.token.Authority
	}
	return registry.ActorAdmin
}

func (s *Server) handleOpenDispute(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q DisputeRequest
	if err := decodeJSON(w, r, &q, maxJSONBody); err != nil {
		return err
	}
	actor, err := s.ownRecord(r.Context(), p, q.RecordID)
	if err != nil {
		return err
	}
	c, err := s.reg.OpenDispute(r.Context(), q.RecordID, q.Grounds, q.EvidenceSHA256, q.Appeal, q.NewInformation, actor)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

func (s *Server) handleDecideDispute(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := parseID(r, "id")
	if err != nil {
		return err
	}
	var q DisputeDecisionRequest
	if err := decodeJSON(w, r, &q, maxJSONBody); err != nil {
		return err
	}
	c, err := s.reg.DecideDisputeOn(r.Context(), id, q.Outcome, q.Reason, deciderOf(p), q.DecidedAt)
	if err != nil {
		return notYours(err, "dispute", id, p)
	}
	return writeJSON(w, http.StatusOK, c)
}

// listQuery is the common query of the due-process lists: state (open,
// decided or all; default open), subject, authority and limit, bound to
// the token: an authority sees what it decides, a subject its own items.
type listQuery struct {
	state, subject, authority string
	limit                     int
}

func (s *Server) listQuery(r *http.Request, p *principal) (listQuery, error) {
	v := r.URL.Query()
	q := listQuery{state: v.Get("state"), authority: v.Get("authority"), limit: defaultListLimit}
	switch q.state {
	case "", credo.StateOpen:
		q.state = credo.StateOpen
	case credo.StateDecided:
	case "all":
		q.state = ""
	default:
		return q, invalid("state", "must be open, decided or all, not %q", q.state)
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 || n > maxListLimit {
			return q, invalid("limit", "must be an integer from 1 to %d", maxListLimit)
		}
		q.limit = n
	}
	if sub := v.Get("subject"); sub != "" {
		id, err := s.reg.ParseSubject(sub)
		if err != nil {
			return q, invalid("subject", "%s", credo.ErrorMessage(err))
		}
		q.subject = id.Canonical
	}
	switch {
	case p.is(rAuthority):
		if q.authority != "" && q.authority != p.token.Authority {
			return q, &credo.Error{Code: credo.EFORBIDDEN, Field: "authority", Message: fmt.Sprintf("this token acts for authority %s only, not for %s", p.token.Authority, q.authority)}
		}
		q.authority = p.token.Authority
	case p.is(rSubject):
		own, err := s.ownSubject(p)
		if err != nil {
			return q, err
		}
		if q.subject != "" && q.subject != own {
			return q, &credo.Error{Code: credo.EFORBIDDEN, Field: "subject", Message: "a subject token may list only its own disputes and applications"}
		}
		q.subject = own
	}
	return q, nil
}

func (s *Server) handleListDisputes(w http.ResponseWriter, r *http.Request, p *principal) error {
	q, err := s.listQuery(r, p)
	if err != nil {
		return err
	}
	ds, err := s.reg.Disputes(r.Context(), credo.DisputeFilter{State: q.state, Subject: q.subject, Limit: q.limit}, q.authority)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, DisputeList{At: s.reg.Now(), Disputes: ds})
}

func (s *Server) handleApplyRepair(w http.ResponseWriter, r *http.Request, p *principal) error {
	var q RepairRequest
	if err := decodeJSON(w, r, &q, maxJSONBody); err != nil {
		return err
	}
	ctx := r.Context()
	actor, err := s.ownRecord(ctx, p, q.RecordID)
	if err != nil {
		return err
	}
	c, err := s.reg.ApplyRepair(ctx, q.RecordID, q.Statement, q.Commitment, actor)
	if err != nil {
		return s.withRepairFrom(ctx, q.RecordID, err)
	}
	return writeJSON(w, http.StatusCreated, c)
}

// withRepairFrom adds the first day a repair is possible to a refusal made
// before it.
func (s *Server) withRepairFrom(ctx context.Context, recordID int64, err error) error {
	var ce *credo.Error
	if credo.ErrorCode(err) != credo.ECONFLICT || !errors.As(err, &ce) {
		return err
	}
	rec, rerr := s.reg.Store().Record(ctx, recordID)
	if rerr != nil {
		return err
	}
	from, ok, perr := s.reg.RepairFrom(ctx, rec)
	if perr != nil || !ok || !s.reg.Now().Before(from) {
		return err
	}
	pol, _, perr := s.reg.Policy(ctx)
	if perr != nil {
		return err
	}
	return repairError{err: ce, from: from.In(pol.Location()).Format("2006-01-02")}
}

func (s *Server) handleDecideRepair(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, err := parseID(r, "id")
	if err != nil {
		return err
	}
	var q RepairDecisionRequest
	if err := decodeJSON(w, r, &q, maxJSONBody); err != nil {
		return err
	}
	var approve bool
	switch q.Outcome {
	case credo.RepairApproved:
		approve = true
	case credo.RepairRefused:
	case "":
		return invalid("outcome", "is required: approved or refused")
	default:
		return invalid("outcome", "must be approved or refused, not %q", q.Outcome)
	}
	c, err := s.reg.DecideRepairOn(r.Context(), id, approve, q.Reason, deciderOf(p), q.DecidedAt)
	if err != nil {
		return notYours(err, "repair application", id, p)
	}
	return writeJSON(w, http.StatusOK, c)
}

func (s *Server) handleListRepairs(w http.ResponseWriter, r *http.Request, p *principal) error {
	q, err := s.listQuery(r, p)
	if err != nil {
		return err
	}
	f := credo.RepairFilter{State: q.state, Subject: q.subject, Limit: q.limit}
	if q.authority != "" {
		f.Authorities = []string{q.authority}
	}
	rs, err := s.reg.Repairs(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, RepairList{At: s.reg.Now(), Repairs: rs})
}

// OpenDispute objects to a record (or, with appeal, appeals the upheld
// decision on the last objection).
func (c *Client) OpenDispute(ctx context.Context, q DisputeRequest) (*registry.DisputeCase, error) {
	var out registry.DisputeCase
	if err := c.do(ctx, http.MethodPost, "/v1/disputes", nil, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DecideDispute decides a dispute: upheld, corrected or revoked.
func (c *Client) DecideDispute(ctx context.Context, id int64, outcome, reason string) (*registry.DisputeCase, error) {
	return c.DecideDisputeOn(ctx, id, outcome, reason, time.Time{})
}

// DecideDisputeOn decides a dispute with a decision taken at instant at
// (zero: now).
func (c *Client) DecideDisputeOn(ctx context.Context, id int64, outcome, reason string, at time.Time) (*registry.DisputeCase, error) {
	if err := noActor(ctx); err != nil {
		return nil, err
	}
	var out registry.DisputeCase
	if err := c.do(ctx, http.MethodPost, fmt.Sprintf("/v1/disputes/%d/decision", id), nil, DisputeDecisionRequest{Outcome: outcome, Reason: reason, DecidedAt: at}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Disputes lists disputes: state is open, decided or all ("" for open);
// authority and subject filter (the server binds them to the token).
func (c *Client) Disputes(ctx context.Context, state, authority, subject string) ([]registry.DisputeCase, error) {
	var out DisputeList
	if err := c.do(ctx, http.MethodGet, "/v1/disputes", listValues(state, authority, subject), nil, &out); err != nil {
		return nil, err
	}
	return out.Disputes, nil
}

// ApplyRepair applies for credit repair of a record.
func (c *Client) ApplyRepair(ctx context.Context, q RepairRequest) (*registry.RepairCase, error) {
	var out registry.RepairCase
	if err := c.do(ctx, http.MethodPost, "/v1/repairs", nil, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DecideRepair approves or refuses a repair application.
func (c *Client) DecideRepair(ctx context.Context, id int64, approve bool, reason string) (*registry.RepairCase, error) {
	return c.DecideRepairOn(ctx, id, approve, reason, time.Time{})
}

// DecideRepairOn decides a repair application with a decision taken at
// instant at (zero: now).
func (c *Client) DecideRepairOn(ctx context.Context, id int64, approve bool, reason string, at time.Time) (*registry.RepairCase, error) {
	if err := noActor(ctx); err != nil {
		return nil, err
	}
	q := RepairDecisionRequest{Outcome: credo.RepairRefused, Reason: reason, DecidedAt: at}
	if approve {
		q.Outcome = credo.RepairApproved
	}
	var out registry.RepairCase
	if err := c.do(ctx, http.MethodPost, fmt.Sprintf("/v1/repairs/%d/decision", id), nil, q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Repairs lists repair applications, like Disputes.
func (c *Client) Repairs(ctx context.Context, state, authority, subject string) ([]registry.RepairCase, error) {
	var out RepairList
	if err := c.do(ctx, http.MethodGet, "/v1/repairs", listValues(state, authority, subject), nil, &out); err != nil {
		return nil, err
	}
	return out.Repairs, nil
}

func listValues(state, authority, subject string) url.Values {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	if authority != "" {
		q.Set("authority", authority)
	}
	if subject != "" {
		q.Set("subject", subject)
	}
	return q
}

// noCheck is the answer for a check that does not exist and for one on
// somebody else alike: no oracle.
func noCheck(id string) error {
	return &credo.Error{Code: credo.ENOTFOUND, Field: "id", Message: "no check " + id + " about you"}
}

// noRecord is the answer for a record that does not exist and, to a
// subject, for a record about somebody else alike: no oracle.
func noRecord(field string, id int64) error {
	return &credo.Error{Code: credo.ENOTFOUND, Field: field, Message: fmt.Sprintf("record %d not found", id)}
}

// notYours words an authority's refusal to decide an item that is not its
// own without naming the authority that filed the record (or hears the
// appeal): an authority learns nothing of the records of others.
func notYours(err error, what string, id int64, p *principal) error {
	if credo.ErrorCode(err) != credo.EFORBIDDEN || !p.is(rAuthority) {
		return err
	}
	return credo.Errorf(credo.EFORBIDDEN, "%s %d is not for %s to decide: the authority that filed the record (on appeal, its appellate authority) or an admin decides it", what, id, p.token.Authority)
}
