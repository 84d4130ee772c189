package http

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"credo"
	"credo/engine"
	"credo/policy"
	"credo/simulate"
)

// simulationSlot lets one simulation run at a time in the process: each
// one evaluates every subject twice on every core.
var simulationSlot = make(chan struct{}, 1)

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
	if r.ContentLength > maxPolicyBody {
		return &httpError{kind: kindTooLarge, detail: fmt.Sprintf("the policy is larger than %d bytes", maxPolicyBody)}
	}
	src, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPolicyBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &httpError{kind: kindTooLarge, detail: fmt.Sprintf("the policy is larger than %d bytes", maxPolicyBody)}
		}
		return invalid("", "reading the policy: %v", err)
	}
	if len(strings.TrimSpace(string(src))) == 0 {
		return invalid("", "the request body is empty: send the draft policy YAML")
	}
	doc, err := policy.Parse("draft.yaml", src)
	if err != nil {
		var perrs policy.Errors
		if errors.As(err, &perrs) {
			msgs := make([]string, len(perrs))
			for i, d := range perrs {
				msgs[i] = d.String()
			}
			return lintError{err: &credo.Error{Code: credo.EINVALID, Message: fmt.Sprintf("the draft policy has %d error(s)", len(perrs))}, messages: msgs}
		}
		return invalid("", "%v", err)
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
	lang := q.Get("lang")
	switch lang {
	case "":
		lang = "en"
		if strings.HasPrefix(strings.ToLower(r.Header.Get("Accept-Language")), "zh") {
			lang = "zh"
		}
	case "en", "zh":
	default:
		return invalid("lang", "must be en or zh, got %q", lang)
	}
	at, err := s.queryTime(r, "at")
	if err != nil {
		return err
	}
	now := s.reg.Now()
	if at.IsZero() {
		at = now
	}
	cur, ok := s.reg.Engine().PolicyAt(at, now)
	if !ok {
		return credo.Errorf(credo.ENOTFOUND, "no policy in force at %s", at.Format("2006-01-02T15:04:05Z07:00"))
	}
	admin := p.is(rAdmin)
	if !admin {
		opts.Top = -1 // an auditor sees no subject
	}
	select {
	case simulationSlot <- struct{}{}:
	default:
		return &httpError{kind: kindOverloaded, detail: "another simulation is running: retry when it is done",
			headers: map[string]string{"Retry-After": "10"}}
	}
	defer func() { <-simulationSlot }()
	draft := engine.Version{Hash: policy.Hash(src), Policy: doc, Effective: at, Published: now}
	rep, err := simulate.Run(ctx, s.reg.Store(), cur, draft, at, opts)
	if err != nil {
		return err
	}
	if !admin {
		rep = rep.Redact()
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
