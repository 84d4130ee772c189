package http

import (
	"context"
	"net/http"
	"net/url"

	"github.com/prometheus/client_golang/prometheus"

	"credo"
)

// IssuedNotice is a notice as the subject received it (credo.IssuedNotice).
type IssuedNotice = credo.IssuedNotice

// SubjectNotices is the answer to GET /v1/subjects/{id}/notices: every
// notice issued to a subject, oldest first.
type SubjectNotices struct {
	Subject string         `json:"subject"`
	Notices []IssuedNotice `json:"notices"`
	// Party are the notices of records about organisations that reach
	// the subject through a link (registry.PartyNotices).
	Party []credo.Notice `json:"party,omitempty"`
}

func (s *Server) handleNotices(w http.ResponseWriter, r *http.Request, p *principal) error {
	subject, err := s.subjectParam(r, p)
	if err != nil {
		return err
	}
	evs, err := s.reg.Notices(r.Context(), subject)
	if err != nil {
		return err
	}
	res := SubjectNotices{Subject: subject, Notices: make([]IssuedNotice, 0, len(evs))}
	for _, ev := range evs {
		res.Notices = append(res.Notices, IssuedNotice{Seq: ev.Seq, Issued: ev.Recorded, Notice: ev.Notice})
	}
	if res.Party, err = s.reg.PartyNotices(r.Context(), subject); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// Notices returns the notices issued to a subject, oldest first.
func (c *Client) Notices(ctx context.Context, subject string) ([]IssuedNotice, error) {
	var res SubjectNotices
	if err := c.do(ctx, http.MethodGet, "/v1/subjects/"+url.PathEscape(subject)+"/notices", nil, nil, &res); err != nil {
		return nil, err
	}
	return res.Notices, nil
}

// RegisterMetrics adds collectors (the outbox worker's, say) to the
// server's /metrics.
func (s *Server) RegisterMetrics(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := s.metrics.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
