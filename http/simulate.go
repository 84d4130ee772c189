package http

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"credo"
	"credo/policy"
	"credo/simulate"
)

// handleSimulate answers POST /v1/simulations: the body is a draft policy
// (YAML); the answer is what it would change at ?at= (default now) — JSON,
// or the HTML report when the client accepts text/html first. An auditor
// gets no subject identifiers.
func (s *Server) handleSimulate(w http.ResponseWriter, r *http.Request, p *principal) error {
	ctx := r.Context()
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err != nil:
			return &httpError{kind: kindMediaType, field: "Content-Type", detail: fmt.Sprintf("malformed Content-Type %q", ct)}
		case mt != "application/yaml" && mt != "application/x-yaml" && mt != "text/yaml" && mt != "text/x-yaml" && mt != "text/plain":
			return &httpError{kind: kindMediaType, field: "Content-Type", detail: fmt.Sprintf("send the draft policy as application/yaml, not %s", mt)}
		}
	}
	src, err := readPolicyBody(w, r, "draft policy")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var opts simulate.Options
	if v := q.Get("threshold"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1 {
			return invalid("threshold", "must be a number above 0 and at most 1, got %q", v)
		}
		opts.Threshold = f
	}
	if v := q.Get("min_group"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return invalid("min_group", "must be a positive integer, got %q", v)
		}
		opts.MinGroup = n
	}
	lang := policy.Negotiate(r.Header.Get("Accept-Language"))
	if v := q.Get("lang"); v != "" {
		if lang = policy.MatchLanguage(v); lang == "" {
			return invalid("lang", "must be en or zh-CN, got %q", v)
		}
	}
	at, err := s.queryTime(r, "at")
	if err != nil {
		return err
	}
	// The simulation ends with the request (net/http cancels its context
	// when the client goes away) or when the server starts shutting down:
	// graceful shutdown waits for requests in flight, and a simulation
	// must not hold it up for minutes.
	if s.closing.Load() {
		return &httpError{kind: kindOverloaded, detail: "the server is shutting down", headers: map[string]string{"Retry-After": "10"}}
	}
	ctx, cancel := s.simulationContext(ctx)
	defer cancel()
	rep, err := simulate.RunDraft(ctx, s.reg, src, at, opts, p.is(rAdmin))
	var de *simulate.DraftError
	switch {
	case errors.As(err, &de):
		return lintError{err: &credo.Error{Code: credo.EINVALID, Message: de.Error()}, messages: de.Messages}
	case errors.Is(err, simulate.ErrBusy):
		return &httpError{kind: kindOverloaded, detail: simulate.ErrBusy.Message,
			headers: map[string]string{"Retry-After": "10"}}
	case err != nil:
		return err
	}
	if wantsHTML(r) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
		w.WriteHeader(http.StatusOK)
		bw := bufio.NewWriter(w)
		if err := simulate.WriteHTML(bw, rep, lang); err != nil {
			return err
		}
		return bw.Flush()
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, rep)
}

// simulationContext returns a context that ends with parent or once the
// server begins shutting down.
func (s *Server) simulationContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	stop := context.AfterFunc(s.life, cancel)
	return ctx, func() { stop(); cancel() }
}

// readPolicyBody reads a policy document (what: "policy", "draft policy")
// from a request body of at most maxPolicyBody bytes, refusing an empty one.
func readPolicyBody(w http.ResponseWriter, r *http.Request, what string) ([]byte, error) {
	if r.ContentLength > maxPolicyBody {
		return nil, &httpError{kind: kindTooLarge, detail: fmt.Sprintf("the policy is larger than %d bytes", maxPolicyBody)}
	}
	src, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPolicyBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &httpError{kind: kindTooLarge, detail: fmt.Sprintf("the policy is larger than %d bytes", maxPolicyBody)}
		}
		return nil, invalid("", "reading the policy: %v", err)
	}
	if len(strings.TrimSpace(string(src))) == 0 {
		return nil, invalid("", "the request body is empty: send the %s YAML", what)
	}
	return src, nil
}

// wantsHTML reports whether the client prefers text/html to JSON: it
// names text/html before application/json (or without it).
func wantsHTML(r *http.Request) bool {
	accept := strings.ToLower(r.Header.Get("Accept"))
	h := strings.Index(accept, "text/html")
	if h < 0 {
		return false
	}
	j := strings.Index(accept, "application/json")
	return j < 0 || h < j
}
