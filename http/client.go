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
	"credo/policy"
)

// Client talks to a Credo server. It implements the services of package
// credo over the API, returning the registry's own types, so that the CLI
// runs the same code against a server as against a local database (its
// methods for each endpoint live beside the endpoint's handler); errors
// are *credo.Error with the server's code, field and message.
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

// The client implements every service over the API (credo's service.go);
// its methods for each endpoint live beside the endpoint's handler.
var (
	_ credo.CheckService[engine.Decision] = (*Client)(nil)
	_ credo.SubjectService[*engine.State] = (*Client)(nil)
	_ credo.PolicyService[*policy.Policy] = (*Client)(nil)
	_ credo.RecordService                 = (*Client)(nil)
	_ credo.LinkService                   = (*Client)(nil)
	_ credo.DueProcessService             = (*Client)(nil)
)

// noActor refuses a context that asks to act as someone (credo.WithActor):
// over the API, the token is the actor.
func noActor(ctx context.Context) error {
	if a := credo.ActorFrom(ctx); a != "" {
		return credo.FieldErrorf("authority", "a server acts as its token's authority, not as %s: use a token of that authority", a)
	}
	return nil
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
