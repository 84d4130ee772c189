package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"sync"
	"time"

	"credo"
	"credo/ident"
	"credo/ingest"
	"credo/registry"
)

// Province shards (the shard map: registry.ShardMap): a national
// deployment splits the registry by province, each shard a registry of its
// own. A node serves one or more shards; a request about a subject of
// another shard is forwarded to the owning node (the caller's bearer token goes along: tokens are
// issued to every shard) or, with forwarding off, refused with 421
// Misdirected Request naming the shard to ask. A batch check is split by
// shard, sent concurrently and merged in request order.

// Headers of sharded deployments.
const (
	// ShardHeader names the shard that answered a forwarded request, or
	// the shard to ask in a 421.
	ShardHeader = "Credo-Shard"
	// ShardURLHeader is that shard's base URL in a 421.
	ShardURLHeader = "Credo-Shard-Url"
	// ForwardedHeader marks a request one node forwarded to another (its
	// value: the forwarding node's shards); such a request is never
	// forwarded again.
	ForwardedHeader = "Credo-Forwarded-By"
)

// ShardOptions make a server one node of a sharded deployment.
type ShardOptions struct {
	Map *registry.ShardMap
	// Local are the shards this node serves.
	Local []string
	// Forward sends requests about other shards' subjects to their nodes;
	// without it they are refused with 421 Misdirected Request.
	Forward bool
	// Client sends forwarded batch checks (default: a client with a 10 s
	// timeout).
	Client *http.Client
}

// HTTP-level problem kinds of sharding.
const (
	kindMisdirected = "misdirected"
	kindBadGateway  = "bad_gateway"
)

// sharding is a server's shard routing.
type sharding struct {
	ShardOptions
	proxies map[string]*httputil.ReverseProxy
	by      string // the ForwardedHeader value
}

func newSharding(o *ShardOptions, s *Server) *sharding {
	if o == nil || o.Map == nil {
		return nil
	}
	sh := &sharding{ShardOptions: *o, proxies: map[string]*httputil.ReverseProxy{}, by: strings.Join(o.Local, ",")}
	if sh.Client == nil {
		sh.Client = &http.Client{Timeout: 10 * time.Second}
	}
	for _, n := range o.Map.Names() {
		target := o.Map.Shards[n]
		sh.proxies[n] = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target.BaseURL())
				pr.SetXForwarded()
				pr.Out.Header.Set(ForwardedHeader, sh.by)
			},
			Transport: sh.Client.Transport,
			ModifyResponse: func(resp *http.Response) error {
				resp.Header.Set(ShardHeader, target.Name())
				return nil
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				s.log.Warn("forwarding to shard", "shard", target.Name(), "url", target.URL, "err", err)
				s.writeError(w, r, unreachable(target, err))
			},
		}
	}
	return sh
}

func unreachable(sh *registry.Shard, err error) error {
	return &httpError{kind: kindBadGateway, detail: fmt.Sprintf("shard %s at %s did not answer: %v", sh.Name(), sh.URL, err),
		headers: map[string]string{"Retry-After": "1", ShardHeader: sh.Name()}}
}

// misdirected is the 421 for a subject of another shard.
func (sh *sharding) misdirected(id ident.ID, owner *registry.Shard, why string) error {
	prov := "no province"
	if id.ProvinceCode != "" {
		prov = "province " + id.ProvinceCode + " " + ident.ProvinceName(id.ProvinceCode)
	}
	return &httpError{kind: kindMisdirected, field: "subject",
		detail:  fmt.Sprintf("%s (%s) belongs to shard %s at %s; this node serves %s%s", id.Canonical, prov, owner.Name(), owner.URL, sh.by, why),
		headers: map[string]string{ShardHeader: owner.Name(), ShardURLHeader: owner.URL}}
}

// owner returns the shard of a subject and whether this node serves it;
// an identifier that does not parse is left to the local handler (which
// refuses it with the right error).
func (sh *sharding) owner(s *Server, subject, kind string) (ident.ID, *registry.Shard, bool) {
	k, _ := credo.ParseSubjectKind(kind)
	id, err := s.reg.ParseSubjectAs(subject, k)
	if err != nil {
		return id, nil, true
	}
	o := sh.Map.ShardOf(id)
	return id, o, slices.Contains(sh.Local, o.Name())
}

// route sends a request about another shard's subject where it belongs.
// It reports whether it handled the request (or an error to write).
func (sh *sharding) route(s *Server, w http.ResponseWriter, r *http.Request, p *principal, pattern string) (bool, error) {
	var subject, kind string
	switch pattern {
	case "GET /v1/subjects/{id}", "GET /v1/subjects/{id}/history", "GET /v1/subjects/{id}/checks", "GET /v1/subjects/{id}/notices":
		subject = r.PathValue("id")
	case "POST /v1/checks", "POST /v1/records":
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
		if err != nil {
			return false, nil // the handler reports the body's problem
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var q CheckRequest
		if !parseCheckFast(body, &q) {
			var other struct {
				Subject string `json:"subject"`
				Kind    string `json:"kind"`
			}
			if json.Unmarshal(body, &other) != nil {
				return false, nil
			}
			q.Subject, q.Kind = other.Subject, other.Kind
		}
		if q.Subject == "" {
			return false, nil
		}
		subject, kind = q.Subject, q.Kind
		defer func() { r.Body = io.NopCloser(bytes.NewReader(body)) }()
	case "POST /v1/checks/batch":
		return sh.fanOut(s, w, r, p)
	default:
		return false, nil
	}
	id, owner, local := sh.owner(s, subject, kind)
	if local {
		return false, nil
	}
	if r.Header.Get(ForwardedHeader) != "" {
		return true, sh.misdirected(id, owner, " (forwarded by "+r.Header.Get(ForwardedHeader)+"; the shard maps disagree)")
	}
	if !sh.Forward {
		return true, sh.misdirected(id, owner, "")
	}
	sh.proxies[owner.Name()].ServeHTTP(w, r)
	return true, nil
}

// fanOut answers a batch check whose subjects span shards: one batch per
// shard, concurrently, merged in request order. A shard that does not
// answer fails its subjects' items (503), not the batch; a refusal of the
// whole batch (a sector the token may not check) fails it.
func (sh *sharding) fanOut(s *Server, w http.ResponseWriter, r *http.Request, p *principal) (bool, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return false, nil
	}
	var q CheckBatchRequest
	if unmarshalStrict(body, &q) != nil || len(q.Subjects) == 0 || len(q.Subjects) > s.opts.MaxBatchChecks {
		return false, nil // the handler reports it
	}
	groups := map[string][]int{} // shard ("" local) -> indices
	ids := make([]ident.ID, len(q.Subjects))
	for i, subj := range q.Subjects {
		id, owner, local := sh.owner(s, subj, q.Kind)
		ids[i] = id
		if local {
			groups[""] = append(groups[""], i)
		} else {
			groups[owner.Name()] = append(groups[owner.Name()], i)
		}
	}
	if len(groups[""]) == len(q.Subjects) {
		return false, nil
	}
	out := CheckBatchResponse{Decisions: make([]CheckBatchItem, len(q.Subjects))}
	forwarded := r.Header.Get(ForwardedHeader) != ""
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		whole error // a refusal of the whole batch
	)
	for shard, idx := range groups {
		sub := make([]string, len(idx))
		for k, i := range idx {
			sub[k] = q.Subjects[i]
		}
		if shard != "" && (forwarded || !sh.Forward) {
			for _, i := range idx {
				pr, _ := problemOf(sh.misdirected(ids[i], sh.Map.ShardOf(ids[i]), ""))
				pr.Field = fmt.Sprintf("subjects[%d]", i)
				out.Decisions[i] = CheckBatchItem{Subject: q.Subjects[i], Error: &pr}
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res CheckBatchResponse
			var err error
			if shard == "" {
				res, err = sh.localBatch(s, r, p, q.Sector, sub)
			} else {
				res, err = sh.remoteBatch(r.Context(), r, sh.Map.Shards[shard], q.Sector, sub)
			}
			mu.Lock()
			defer mu.Unlock()
			var he *httpError
			if err != nil && (errors.As(err, &he) && he.kind == kindBadGateway) {
				for _, i := range idx {
					pr, _ := problemOf(err)
					pr.Field = fmt.Sprintf("subjects[%d]", i)
					out.Decisions[i] = CheckBatchItem{Subject: q.Subjects[i], Error: &pr}
				}
				return
			}
			if err == nil && len(res.Decisions) != len(idx) {
				err = credo.Errorf(credo.EINTERNAL, "shard %s answered %d decisions for %d subjects", shard, len(res.Decisions), len(idx))
			}
			if err != nil {
				if whole == nil {
					whole = err
				}
				return
			}
			for k, i := range idx {
				d := res.Decisions[k]
				if d.Error != nil && strings.HasPrefix(d.Error.Field, "subjects[") {
					d.Error.Field = fmt.Sprintf("subjects[%d]", i)
				}
				out.Decisions[i] = d
			}
		}()
	}
	wg.Wait()
	if whole != nil {
		return true, whole
	}
	return true, writeJSON(w, http.StatusOK, out)
}

// localBatch checks this node's subjects of a batch.
func (sh *sharding) localBatch(s *Server, r *http.Request, p *principal, sector string, subjects []string) (CheckBatchResponse, error) {
	b, _ := json.Marshal(CheckBatchRequest{Sector: sector, Subjects: subjects})
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(b))
	r2.ContentLength = int64(len(b))
	rec := &bufferWriter{h: http.Header{}}
	var res CheckBatchResponse
	if err := s.handleCheckBatch(rec, r2, p); err != nil {
		return res, err
	}
	if err := json.Unmarshal(rec.buf.Bytes(), &res); err != nil {
		return res, credo.Errorf(credo.EINTERNAL, "decoding the local batch answer: %v", err)
	}
	return res, nil
}

// bufferWriter keeps a response in memory.
type bufferWriter struct {
	h   http.Header
	buf bytes.Buffer
}

func (w *bufferWriter) Header() http.Header         { return w.h }
func (w *bufferWriter) Write(b []byte) (int, error) { return w.buf.Write(b) }
func (w *bufferWriter) WriteHeader(int)             {}

// remoteBatch sends a batch check to another shard with the caller's token.
func (sh *sharding) remoteBatch(ctx context.Context, r *http.Request, to *registry.Shard, sector string, subjects []string) (CheckBatchResponse, error) {
	var res CheckBatchResponse
	b, _ := json.Marshal(CheckBatchRequest{Sector: sector, Subjects: subjects})
	status, rb, err := sh.post(ctx, r, to, "/v1/checks/batch", "application/json", b)
	if err != nil {
		return res, unreachable(to, err)
	}
	switch {
	case status == http.StatusOK:
		if err := json.Unmarshal(rb, &res); err != nil {
			return res, unreachable(to, fmt.Errorf("undecodable answer: %v", err))
		}
		return res, nil
	case status >= 500 || status == http.StatusTooManyRequests:
		return res, unreachable(to, fmt.Errorf("status %d: %s", status, strings.TrimSpace(string(rb))))
	}
	// The shard refused the whole batch (the token, the sector): so does
	// this node, with the shard's problem.
	var pr Problem
	if json.Unmarshal(rb, &pr) != nil || pr.Status == 0 {
		return res, unreachable(to, fmt.Errorf("status %d without a problem", status))
	}
	return res, &relayed{pr}
}

// relayed is a problem another shard answered, passed on as it was.
type relayed struct{ p Problem }

func (e *relayed) Error() string { return e.p.Detail }

// forwardTo returns the shard a batch line about subject is to be filed
// at, or nil to file it here: sharding off, a subject of this node, an
// identifier that does not parse (the local checks refuse it), forwarding
// off, or a batch that was itself forwarded (the registry then refuses the
// line, naming the owner: the shard maps disagree).
func (sh *sharding) forwardTo(s *Server, r *http.Request, subject, kind string) *registry.Shard {
	if sh == nil || !sh.Forward || r.Header.Get(ForwardedHeader) != "" {
		return nil
	}
	if _, owner, local := sh.owner(s, subject, kind); !local {
		return owner
	}
	return nil
}

// fileRemote files the lines of a batch that belong to other shards
// there, one batch per shard, concurrently, with the caller's token, and
// adds the outcome to res under the lines' own numbers. A shard that does
// not answer, or refuses the whole batch (say, the token is unknown
// there), has each of its lines rejected with the reason; the other lines
// are filed regardless. Re-sending the batch is safe: filing is
// idempotent.
func (sh *sharding) fileRemote(ctx context.Context, r *http.Request, parts map[*registry.Shard][]batchLine, res *BatchResult) {
	type outcome struct {
		to    *registry.Shard
		lines []batchLine
		res   BatchResult
		err   error
	}
	out := make([]outcome, 0, len(parts))
	for to, lines := range parts {
		out = append(out, outcome{to: to, lines: lines})
	}
	slices.SortFunc(out, func(a, b outcome) int { return strings.Compare(a.to.Name(), b.to.Name()) })
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() { out[i].res, out[i].err = sh.remoteFile(ctx, r, out[i].to, out[i].lines) })
	}
	wg.Wait()
	for _, o := range out {
		if o.err != nil {
			reason := o.err.Error()
			var rl *relayed
			if errors.As(o.err, &rl) {
				reason = fmt.Sprintf("shard %s refused the lines forwarded to it: %s", o.to.Name(), rl.p.Detail)
			}
			for _, l := range o.lines {
				res.reject(l.line, "", reason)
			}
			continue
		}
		res.Filed += o.res.Filed
		res.Present += o.res.Present
		for _, rj := range o.res.Rejected {
			if rj.Line < 1 || rj.Line > len(o.lines) {
				continue
			}
			res.reject(o.lines[rj.Line-1].line, rj.Field, rj.Reason)
		}
		if unlisted := o.res.RejectedTotal - len(o.res.Rejected); unlisted > 0 {
			res.RejectedTotal += unlisted
		}
	}
}

// remoteFile sends lines to another shard's POST /v1/records/batch as
// NDJSON, numbered from 1 in the order given.
func (sh *sharding) remoteFile(ctx context.Context, r *http.Request, to *registry.Shard, lines []batchLine) (BatchResult, error) {
	var res BatchResult
	var body []byte
	for _, l := range lines {
		var err error
		if body, err = ingest.AppendNDJSON(body, l.rec); err != nil {
			return res, credo.Errorf(credo.EINTERNAL, "encoding line %d for shard %s: %v", l.line, to.Name(), err)
		}
	}
	status, rb, err := sh.post(ctx, r, to, "/v1/records/batch", "application/x-ndjson", body)
	if err != nil {
		return res, fmt.Errorf("shard %s at %s did not answer (%v): re-send these lines", to.Name(), to.URL, err)
	}
	if status == http.StatusOK {
		if err := json.Unmarshal(rb, &res); err != nil {
			return res, fmt.Errorf("shard %s answered what this node cannot read (%v): re-send these lines", to.Name(), err)
		}
		return res, nil
	}
	var pr Problem
	if json.Unmarshal(rb, &pr) != nil || pr.Status == 0 {
		return res, fmt.Errorf("shard %s answered status %d: re-send these lines", to.Name(), status)
	}
	if status >= 500 || status == http.StatusTooManyRequests {
		return res, fmt.Errorf("shard %s could not file the lines (%s): re-send these lines", to.Name(), pr.Detail)
	}
	return res, &relayed{pr}
}

// post sends body to another shard's path with the caller's token, marked
// as forwarded by this node, and returns the answer's status and body (at
// most 64 MiB).
func (sh *sharding) post(ctx context.Context, r *http.Request, to *registry.Shard, path, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to.BaseURL().String()+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set(ForwardedHeader, sh.by)
	if a := r.Header.Get("Authorization"); a != "" {
		req.Header.Set("Authorization", a)
	}
	resp, err := sh.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, rb, err
}
