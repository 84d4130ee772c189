package http

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"credo"
	"credo/policy"
)

// PolicyInfo describes a published policy version.
type PolicyInfo struct {
	Hash      string    `json:"hash"`
	Name      string    `json:"name"`
	Effective time.Time `json:"effective"`
	Published time.Time `json:"published"`
	// InForce marks the version in force now.
	InForce bool `json:"in_force"`
}

// PolicyDocument is a published version with its YAML source.
type PolicyDocument struct {
	PolicyInfo
	Source string `json:"source"`
}

// PolicyList is the answer to GET /v1/policies: every published version,
// oldest first.
type PolicyList struct {
	Policies []PolicyInfo `json:"policies"`
}

// Published is the answer to POST /v1/policies.
type Published struct {
	PolicyInfo
	Warnings []string `json:"warnings"`
}

func (s *Server) policyInfo(ctx context.Context, pv *credo.PolicyVersion) PolicyInfo {
	_, hash, _ := s.reg.Policy(ctx)
	return PolicyInfo{Hash: pv.Hash, Name: pv.Name, Effective: pv.Effective, Published: pv.Published, InForce: pv.Hash == hash}
}

func (s *Server) handlePolicies(w http.ResponseWriter, r *http.Request, p *principal) error {
	pvs, err := s.reg.Store().Policies(r.Context())
	if err != nil {
		return err
	}
	out := PolicyList{Policies: make([]PolicyInfo, 0, len(pvs))}
	for i := range pvs {
		out.Policies = append(out.Policies, s.policyInfo(r.Context(), &pvs[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

// handlePolicy returns one version by its hash (or a unique prefix of at
// least 8 hex digits).
func (s *Server) handlePolicy(w http.ResponseWriter, r *http.Request, p *principal) error {
	h := strings.ToLower(r.PathValue("hash"))
	if len(h) < 8 || len(h) > 64 || strings.Trim(h, "0123456789abcdef") != "" {
		return invalid("hash", "must be the policy's SHA-256 in hex (or a prefix of at least 8 digits)")
	}
	pvs, err := s.reg.Store().Policies(r.Context())
	if err != nil {
		return err
	}
	var found *credo.PolicyVersion
	for i := range pvs {
		if strings.HasPrefix(pvs[i].Hash, h) {
			if found != nil {
				return invalid("hash", "prefix %s matches several versions: give more digits", h)
			}
			found = &pvs[i]
		}
	}
	if found == nil {
		return credo.Errorf(credo.ENOTFOUND, "no published policy version %s", h)
	}
	return writeJSON(w, http.StatusOK, PolicyDocument{PolicyInfo: s.policyInfo(r.Context(), found), Source: string(found.Source)})
}

// handlePublish publishes a policy version: the body is the YAML document.
// A policy that fails to lint is refused with its FILE:LINE messages.
func (s *Server) handlePublish(w http.ResponseWriter, r *http.Request, p *principal) error {
	ctx := r.Context()
	src, err := readPolicyBody(w, r, "policy")
	if err != nil {
		return err
	}
	// Lint first: errors are the caller's to fix, with FILE:LINE messages;
	// a date without a time is midnight in the policy's own time zone.
	doc, err := policy.Parse("policy.yaml", src)
	if err != nil {
		if msgs, ok := policy.Messages(err); ok {
			return lintError{err: &credo.Error{Code: credo.EINVALID, Message: fmt.Sprintf("the policy has %d error(s)", len(msgs))}, messages: msgs}
		}
		return invalid("", "%v", err)
	}
	var effective time.Time
	if v := r.URL.Query().Get("effective"); v != "" {
		if effective, err = parseTime("effective", v, doc.Location()); err != nil {
			return err
		}
	}
	hash := policy.Hash(src)
	pvs, err := s.reg.Store().Policies(ctx)
	if err != nil {
		return err
	}
	for _, pv := range pvs {
		if pv.Hash == hash {
			return credo.Errorf(credo.ECONFLICT, "this policy was already published as version %s (effective %s): versions are never overwritten", hash[:12], pv.Effective.Format(time.RFC3339))
		}
	}
	pv, warns, err := s.reg.Publish(ctx, "policy.yaml", src, effective)
	if err != nil {
		return err
	}
	out := Published{PolicyInfo: s.policyInfo(ctx, pv), Warnings: make([]string, 0, len(warns))}
	for _, d := range warns {
		out.Warnings = append(out.Warnings, d.String())
	}
	return writeJSON(w, http.StatusCreated, out)
}

// Location returns the time zone of the policy in force on the server,
// in which every instant shown to a person is given (a JSON answer carries
// instants with their UTC offset only).
func (c *Client) Location(ctx context.Context) (*time.Location, error) {
	p, err := c.Policy(ctx)
	if err != nil {
		return nil, err
	}
	return p.Location(), nil
}

// Policy returns the policy in force on the server.
func (c *Client) Policy(ctx context.Context) (*policy.Policy, error) {
	var list PolicyList
	if err := c.do(ctx, http.MethodGet, "/v1/policies", nil, nil, &list); err != nil {
		return nil, err
	}
	hash := ""
	for _, p := range list.Policies {
		if p.InForce {
			hash = p.Hash
		}
	}
	if hash == "" {
		return nil, credo.Errorf(credo.ENOTFOUND, "the server has no policy in force")
	}
	var doc PolicyDocument
	if err := c.do(ctx, http.MethodGet, "/v1/policies/"+url.PathEscape(hash), nil, nil, &doc); err != nil {
		return nil, err
	}
	p, err := policy.Parse("policy.yaml", []byte(doc.Source))
	if err != nil {
		return nil, credo.Errorf(credo.EINTERNAL, "the server's policy in force does not parse: %v", err)
	}
	return p, nil
}

// Policies lists the published policy versions (without their sources).
func (c *Client) Policies(ctx context.Context) ([]credo.PolicyVersion, error) {
	var list PolicyList
	if err := c.do(ctx, http.MethodGet, "/v1/policies", nil, nil, &list); err != nil {
		return nil, err
	}
	out := make([]credo.PolicyVersion, len(list.Policies))
	for i, p := range list.Policies {
		out[i] = credo.PolicyVersion{Hash: p.Hash, Name: p.Name, Effective: p.Effective, Published: p.Published}
	}
	return out, nil
}
