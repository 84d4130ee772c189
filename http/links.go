package http

import (
	"context"
	"net/http"

	"credo"
)

// Links over HTTP: an authority (or an admin) files and ends the links
// between an organisation and the persons who answer for it, with their
// own legal basis and dates (registry.AddLink, registry.EndLink).

// LinkResponse is the answer of POST /v1/links and /v1/links/end.
type LinkResponse = credo.LinkResult

func linkActor(p *principal, l *credo.Link) string {
	if p.is(rAuthority) {
		if l.Authority == "" {
			l.Authority = p.token.Authority
		}
		return p.token.Authority
	}
	return credo.RoleAdmin
}

func (s *Server) handleAddLink(w http.ResponseWriter, r *http.Request, p *principal) error {
	var l credo.Link
	if err := decodeJSON(w, r, &l, maxJSONBody); err != nil {
		return err
	}
	out, created, err := s.reg.AddLink(r.Context(), l, linkActor(p, &l))
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return writeJSON(w, status, LinkResponse{Link: out, Created: created})
}

func (s *Server) handleEndLink(w http.ResponseWriter, r *http.Request, p *principal) error {
	var l credo.Link
	if err := decodeJSON(w, r, &l, maxJSONBody); err != nil {
		return err
	}
	out, err := s.reg.EndLink(r.Context(), l, linkActor(p, &l))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, LinkResponse{Link: out, Created: true})
}

// AddLink files a link between an organisation and a person.
func (c *Client) AddLink(ctx context.Context, l credo.Link) (*LinkResponse, error) {
	var out LinkResponse
	if err := c.do(ctx, http.MethodPost, "/v1/links", nil, l, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// EndLink ends a link at l.Until.
func (c *Client) EndLink(ctx context.Context, l credo.Link) (*LinkResponse, error) {
	var out LinkResponse
	if err := c.do(ctx, http.MethodPost, "/v1/links/end", nil, l, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
