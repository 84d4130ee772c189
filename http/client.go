package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"credo"
	"credo/engine"
	"credo/ingest"
	"credo/policy"
)

// Client talks to a Credo server. Its methods return the registry's own
// types, so that the CLI works the same against a server as against a
// local database; errors are *credo.Error with the server's code, field
// and message.
type Client struct {
	// BaseURL is the server's address, e.g. "https://credo.example".
	BaseURL string
	// Token is the bearer token secret ("" for public access).
	Token string
	// HTTP is the underlying client (default: one with a 5-minute timeout).
	HTTP *http.Client
	// Lang is the language asked for (Accept-Language), "" for the
	// server's default.
	Lang string
}

// NewClient returns a client for the server at baseURL using a token.
func NewClient(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: 5 * time.Minute}}
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

// FileRecord files one record. Created is false when an identical record
// was already filed (the original is returned).
func (c *Client) FileRecord(ctx context.Context, rec *credo.Record) (credo.FileResult, error) {
	var out credo.Record
	status, err := c.doStatus(ctx, http.MethodPost, "/v1/records", nil, RecordRequestOf(rec), &out)
	if err != nil {
		return credo.FileResult{}, err
	}
	return credo.FileResult{Record: &out, Created: status == http.StatusCreated}, nil
}

// FileBatch files a batch of records in NDJSON or CSV (with a header row).
func (c *Client) FileBatch(ctx context.Context, r io.Reader, format ingest.Format) (*BatchResult, error) {
	ct := "application/x-ndjson"
	if format == ingest.CSV {
		ct = "text/csv"
	}
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/records/batch", nil, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ct)
	var res BatchResult
	if _, err := c.send(req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Replay replays a logged check by id.
func (c *Client) Replay(ctx context.Context, checkID string) (*Replay, error) {
	var res Replay
	if err := c.do(ctx, http.MethodGet, "/v1/checks/"+url.PathEscape(checkID), nil, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
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

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	_, err := c.doStatus(ctx, method, path, q, body, out)
	return err
}

func (c *Client) doStatus(ctx context.Context, method, path string, q url.Values, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, credo.Errorf(credo.EINTERNAL, "encoding the request: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, path, q, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, out)
}

func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body io.Reader) (*http.Request, error) {
	u := c.BaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "bad server address %q: %v", c.BaseURL, err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("Accept", "application/json")
	if c.Lang != "" {
		req.Header.Set("Accept-Language", c.Lang)
	}
	return req, nil
}

func (c *Client) send(req *http.Request, out any) (int, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, &credo.Error{Code: credo.EUNAVAILABLE, Message: fmt.Sprintf("cannot reach the server at %s", c.BaseURL), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return resp.StatusCode, responseError(resp)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, &credo.Error{Code: credo.EINTERNAL, Message: "the server's answer is not valid JSON", Err: err}
		}
	}
	return resp.StatusCode, nil
}

// responseError turns an error response into a *credo.Error.
func responseError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var p Problem
	if json.Unmarshal(b, &p) == nil && p.Type != "" {
		return problemError(p)
	}
	code := credo.EINTERNAL
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
		code = credo.EUNAVAILABLE
	case resp.StatusCode == http.StatusNotFound:
		code = credo.ENOTFOUND
	case resp.StatusCode < 500:
		code = credo.EINVALID
	}
	return credo.Errorf(code, "server answered %s", resp.Status)
}

func problemError(p Problem) error {
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	if len(p.Errors) > 0 {
		msg += ":\n" + strings.Join(p.Errors, "\n")
	}
	return &credo.Error{Code: codeOfType(p.Type), Field: p.Field, Message: msg}
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
