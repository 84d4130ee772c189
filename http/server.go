package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"credo"
	"credo/internal/ratelimit"
	"credo/registry"
	"credo/transparency"
)

// Options tune a Server. The zero value is a production default.
type Options struct {
	// Logger receives structured request and error logs (default: none).
	// Secrets are never logged.
	Logger *slog.Logger
	// RateLimit is the sustained requests per second allowed per token
	// (public requests: per remote address); default 20,000. A negative
	// value disables rate limiting.
	RateLimit float64
	// RateBurst is the bucket size (default: one second's worth).
	RateBurst int
	// PublicLookups is how many anonymous public list lookups (?q=) a
	// remote address may make per minute, in bursts of as many (default
	// 30; negative: no limit).
	PublicLookups int
	// BodyReadTimeout bounds the time a request's body may take to arrive,
	// from the request's start (default 10 s); BatchReadTimeout that of a
	// batch of records (default 2 min). Portal bodies are read before the
	// request is admitted (see bodyread.go).
	BodyReadTimeout  time.Duration
	BatchReadTimeout time.Duration
	// AuthFailures is how many failed authentications (a missing,
	// malformed, unknown or revoked bearer token) a remote address may
	// make per minute, in bursts of as many, like sign-in attempts at the
	// portal; beyond it every request of that address that carries an
	// Authorization header is refused with 429 until its bucket refills
	// (default 10; negative: no limit).
	AuthFailures int
	// MaxInFlight bounds the requests handled at once; beyond it requests
	// are refused with 503 at once (default 4×GOMAXPROCS×64).
	MaxInFlight int
	// TokenCacheTTL is how long a token lookup is cached, and so how long a
	// revocation may take to be honoured (default 10 s).
	TokenCacheTTL time.Duration
	// CensusTTL is how long the scan behind the public lists and the
	// statistics is reused (default 10 s).
	CensusTTL time.Duration
	// Census, if set, is the census cache behind the public lists and the
	// statistics, shared with the web portal so that one scan of the log
	// serves both (default: the server's own, rebuilt every CensusTTL).
	Census *registry.CensusCache
	// CheckLogBuffer is the capacity of the queue of checks waiting to be
	// logged (default 65,536); when it is full, checks wait.
	CheckLogBuffer int
	// CheckLogBatch is the number of queued checks that triggers a write
	// (default 1000); when writes fall behind, one write takes up to 16
	// times that.
	CheckLogBatch int
	// CheckLogInterval is how often queued checks are written (default 50 ms).
	CheckLogInterval time.Duration
	// CheckLogAsync answers a check before its log entry is on stable
	// storage (written within CheckLogInterval): a crash then loses the
	// checks queued, up to CheckLogBuffer. The default (false) answers a
	// check only once its entry is committed (group commit, see
	// registry/checklog.go). An explicit opt-out, for benchmarks; not for production.
	CheckLogAsync bool
	// MaxBatchChecks is the most subjects one batch check may carry (default 1000).
	MaxBatchChecks int
	// ShutdownTimeout bounds a graceful shutdown (default 30 s).
	ShutdownTimeout time.Duration
	// OnListen, if set, is called with the listening address once
	// ListenAndServe listens (useful with port 0).
	OnListen func(addr net.Addr)
	// Listener, if set, is served instead of listening on the address
	// given to ListenAndServe: a caller binds its port first, so that a
	// busy address is reported before a slow set-up.
	Listener net.Listener
	// MaxTailLag is how many events the decision table may be behind the
	// log head before /readyz reports 503 (default 10,000); MaxTailStale
	// how long since the tailer last read the log (default 30 s, while a
	// tailer runs).
	MaxTailLag   int64
	MaxTailStale time.Duration
	// Shards makes the server one node of a province-sharded deployment
	// (see shard.go); nil: it holds every subject.
	Shards *ShardOptions
	// NaiveChecks answers every check by loading the subject's facts from
	// the store and evaluating them, bypassing the decision table: the
	// baseline the load benchmarks compare the table against. Never in
	// production.
	NaiveChecks bool
	// Portal, if set, serves every path outside /v1, /healthz, /readyz and
	// /metrics (the web portal, package http/portal).
	Portal http.Handler
	// Transparency, if set, signs the log's checkpoints: GET /checkpoint
	// serves them, check answers state the size of the latest, subjects'
	// files carry receipts, and a log that does not extend the last
	// checkpoint signed makes the server refuse to serve (see package
	// transparency).
	Transparency *transparency.Signer
	// Scrub, if set, re-verifies the log in the background: its first bad
	// position turns /readyz to 503.
	Scrub interface{ Fault() error }
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RateLimit == 0 {
		o.RateLimit = 20000
	}
	if o.PublicLookups == 0 {
		o.PublicLookups = 30
	}
	if o.BodyReadTimeout <= 0 {
		o.BodyReadTimeout = 10 * time.Second
	}
	if o.BatchReadTimeout <= 0 {
		o.BatchReadTimeout = 2 * time.Minute
	}
	if o.AuthFailures == 0 {
		o.AuthFailures = 10
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 4 * runtime.GOMAXPROCS(0) * 64
	}
	if o.TokenCacheTTL <= 0 {
		o.TokenCacheTTL = 10 * time.Second
	}
	if o.CensusTTL <= 0 {
		o.CensusTTL = 10 * time.Second
	}
	if o.CheckLogBuffer <= 0 {
		o.CheckLogBuffer = 65536
	}
	if o.CheckLogBatch <= 0 {
		o.CheckLogBatch = 1000
	}
	if o.CheckLogInterval <= 0 {
		o.CheckLogInterval = 50 * time.Millisecond
	}
	if o.MaxBatchChecks <= 0 {
		o.MaxBatchChecks = 1000
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.MaxTailLag <= 0 {
		o.MaxTailLag = 10000
	}
	if o.MaxTailStale <= 0 {
		o.MaxTailStale = 30 * time.Second
	}
}

// Request body limits.
const (
	maxJSONBody   = 1 << 20  // one JSON request
	maxNDJSONBody = 64 << 20 // a batch of records
	maxPolicyBody = 1 << 20  // a policy document
)

// Server serves a registry over HTTP.
type Server struct {
	reg      *registry.Registry
	tokenDB  credo.TokenStore
	checkLog credo.CheckLog
	opts     Options
	log      *slog.Logger

	tokens    *tokenCache
	limiter   *ratelimit.Limiter
	authFails *ratelimit.Limiter // failed authentications per remote address
	reading   atomic.Int64       // portal requests reading their body before admission
	lookups   *ratelimit.Limiter // anonymous public list lookups per remote address
	adm       *admission
	checks    *registry.Checks // answers and logs checks
	health    *storeHealth
	metrics   *metrics
	census    *censusCache
	shard     *sharding

	mux     *http.ServeMux
	routes  []string
	handler http.Handler

	closing atomic.Bool
	// life ends when the server begins shutting down (endLife, with
	// closing): long requests such as simulations end with it.
	life      context.Context
	endLife   context.CancelFunc
	closeOnce sync.Once
	closeErr  error
}

// NewServer returns a server over a registry, its tokens and its check log.
func NewServer(reg *registry.Registry, tokens credo.TokenStore, checks credo.CheckLog, opts Options) *Server {
	opts.defaults()
	s := &Server{reg: reg, tokenDB: tokens, checkLog: checks, opts: opts, log: opts.Logger,
		tokens: newTokenCache(tokens, opts.TokenCacheTTL),
		adm:    newAdmission(opts.MaxInFlight),
		health: newStoreHealth(),
		mux:    http.NewServeMux(),
	}
	if opts.RateLimit > 0 {
		s.limiter = ratelimit.New(opts.RateLimit, opts.RateBurst)
	}
	if opts.PublicLookups > 0 {
		s.lookups = ratelimit.New(float64(opts.PublicLookups)/60, opts.PublicLookups)
	}
	if opts.AuthFailures > 0 {
		s.authFails = ratelimit.New(float64(opts.AuthFailures)/60, opts.AuthFailures)
	}
	s.metrics = newMetrics(func() float64 { return float64(s.checks.Pending()) }, func() float64 { return float64(s.adm.inFlight()) })
	s.metrics.reg.MustRegister(readingGauge(&s.reading))
	s.life, s.endLife = context.WithCancel(context.Background())
	s.checks = reg.NewChecks(checks, registry.ChecksOptions{Logger: s.log, Buffer: opts.CheckLogBuffer, Batch: opts.CheckLogBatch,
		Interval: opts.CheckLogInterval, Async: opts.CheckLogAsync, Naive: opts.NaiveChecks, OnWrite: s.checkLogWritten})
	if opts.Census != nil {
		s.census = opts.Census
	} else {
		s.census = newCensusCache(reg, opts.CensusTTL)
	}
	s.shard = newSharding(opts.Shards, s)
	s.registerRoutes()
	s.handler = http.HandlerFunc(s.serve)
	return s
}

// Handler returns the server's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Routes returns the patterns of every registered route ("METHOD /path").
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// ListenAndServe serves on addr (over TLS when both certFile and keyFile
// are given) until ctx ends, then shuts down gracefully: it stops
// accepting connections, waits for the requests in flight, and writes
// every queued check to the check log before it returns.
func (s *Server) ListenAndServe(ctx context.Context, addr, certFile, keyFile string) error {
	if (certFile == "") != (keyFile == "") {
		return credo.Errorf(credo.EINVALID, "TLS needs both a certificate and a key file")
	}
	srv := &http.Server{
		Addr:              addr,
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       2 * time.Minute, // a 64 MiB batch over a slow link
		WriteTimeout:      5 * time.Minute, // filing that batch
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	ln := s.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			s.Close()
			return credo.Errorf(credo.EUNAVAILABLE, "listening on %s: %v", addr, err)
		}
	}
	if s.opts.OnListen != nil {
		s.opts.OnListen(ln.Addr())
	}
	s.census.WarmUp() // the public lists are answered from it: build it now, in the background
	s.log.Info("serving", "addr", ln.Addr().String(), "tls", certFile != "")
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.beginClosing()
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return errors.Join(err, s.Close())
}

// Close stops accepting checks and writes every queued check to the check
// log (retrying failures until ShutdownTimeout). It does not close the
// registry or the stores. Call it after the HTTP server has stopped.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.beginClosing()
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
		defer cancel()
		s.closeErr = s.checks.Close(ctx)
	})
	return s.closeErr
}

// beginClosing marks the server as shutting down: it stops accepting
// checks and simulations, and ends the contexts derived from its life.
func (s *Server) beginClosing() {
	s.closing.Store(true)
	s.endLife()
}

// FlushChecks waits until every check answered so far is in the check log.
func (s *Server) FlushChecks(ctx context.Context) error { return s.checks.Flush(ctx) }

// checkLogWritten records the outcome of a write to the check log: checks
// are refused (and /readyz fails) while it cannot be written.
func (s *Server) checkLogWritten(n int, took time.Duration, err error) {
	s.metrics.flushed(n, took, err)
	if err != nil {
		s.health.fail(resCheckLog, err)
		return
	}
	s.health.ok(resCheckLog)
}

// handlerFunc is a route's handler: it returns an error to be written as a
// problem, or nil once it has written its response.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p *principal) error

// route registers a handler for a pattern, allowed to some roles, taking
// some query parameters (any other is refused).
func (s *Server) route(pattern string, roles roleSet, query []string, h handlerFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		rw, _ := w.(*responseWriter)
		var now time.Time
		if rw != nil {
			now = rw.start
		} else {
			now = time.Now()
		}
		var host string
		if s.authFails != nil && r.Header.Get("Authorization") != "" {
			// Tokens cannot be guessed at speed: an address that failed
			// too often is not even looked at until its bucket refills.
			host = remoteHost(r)
			if ok, wait := s.authFails.Available(host, now); !ok {
				s.metrics.reject("auth_failures")
				s.writeError(w, r, &httpError{kind: kindRateLimited, detail: "too many failed authentications from this address: slow down",
					headers: map[string]string{"Retry-After": retryAfter(wait)}})
				return
			}
		}
		p, err := s.authenticate(r, now)
		if err != nil {
			if host != "" && credo.ErrorCode(err) == credo.EUNAUTHORIZED {
				s.authFails.Allow(host, now)
			}
			s.writeError(w, r, err)
			return
		}
		if rw != nil {
			rw.tokenID = p.id()
		}
		if s.limiter != nil {
			key := p.id()
			if key == "" {
				key = remoteHost(r)
			}
			if ok, wait := s.limiter.Allow(key, now); !ok {
				s.metrics.reject("rate_limit")
				s.writeError(w, r, &httpError{kind: kindRateLimited, detail: "rate limit exceeded: slow down",
					headers: map[string]string{"Retry-After": retryAfter(wait)}})
				return
			}
		}
		if !p.is(roles) {
			if p.token == nil {
				s.writeError(w, r, &credo.Error{Code: credo.EUNAUTHORIZED, Field: "Authorization", Message: "a bearer token is required (roles allowed: " + roles.names() + ")"})
			} else {
				s.writeError(w, r, &credo.Error{Code: credo.EFORBIDDEN, Message: "a " + p.token.Role + " token may not use this endpoint (roles allowed: " + roles.names() + ")"})
			}
			return
		}
		if r.URL.RawQuery != "" {
			if err := checkQuery(r, query); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if s.shard != nil {
			if done, err := s.shard.route(s, w, r, p, pattern); done {
				if err != nil {
					s.writeError(w, r, err)
				}
				return
			}
		}
		if err := h(w, r, p); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// checkQuery refuses unknown, repeated and malformed query parameters.
func checkQuery(r *http.Request, allowed []string) error {
	vs, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return invalid("query", "malformed query string: %v", err)
	}
	for k, v := range vs {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			if len(allowed) == 0 {
				return invalid(k, "unknown query parameter: this endpoint takes none")
			}
			return invalid(k, "unknown query parameter (allowed: %v)", allowed)
		}
		if len(v) > 1 {
			return invalid(k, "query parameter given %d times", len(v))
		}
	}
	return nil
}

// responseWriter records the status of a response for logs and metrics.
type responseWriter struct {
	http.ResponseWriter
	status  int
	tokenID string
	start   time.Time
	srv     *Server // for the policy's time zone (writeJSON)
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var rwPool = sync.Pool{New: func() any { return new(responseWriter) }}

// serve is the root handler: admission control, then the mux, then logs
// and metrics.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.TLS != nil {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
	}
	switch r.URL.Path {
	case "/healthz", "/metrics":
		// Probes and scrapes bypass admission control: they must answer
		// precisely when the server is busy.
		s.mux.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	portal := s.opts.Portal != nil && !isAPIPath(r.URL.Path)
	if hasBody(r) {
		d := s.opts.BodyReadTimeout
		if r.URL.Path == "/v1/records/batch" {
			d = s.opts.BatchReadTimeout
		}
		// The body must arrive by then; the deadline is cleared after the
		// response (a keep-alive connection's next request gets the
		// server's own).
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(start.Add(d)) == nil {
			defer rc.SetReadDeadline(time.Time{})
		}
		if portal && !s.preRead(w, r) {
			return
		}
	}
	if !s.adm.acquire() {
		s.metrics.reject("overload")
		w.Header().Set("Retry-After", "1")
		writeProblem(w, Problem{Type: ProblemBase + kindOverloaded, Title: problemTitles[kindOverloaded], Status: http.StatusServiceUnavailable,
			Detail: "the server is at capacity; retry shortly"})
		return
	}
	rw := rwPool.Get().(*responseWriter)
	*rw = responseWriter{ResponseWriter: w, start: start, srv: s}
	defer func() {
		s.adm.release()
		d := time.Since(start)
		status := rw.status
		if status == 0 {
			status = http.StatusOK
		}
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		if portal {
			route = "portal"
		}
		s.metrics.request(route, status, d)
		level := slog.LevelDebug
		switch {
		case status >= 500:
			level = slog.LevelError
		case status >= 400:
			level = slog.LevelInfo
		}
		if s.log.Enabled(r.Context(), level) {
			s.log.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method), slog.String("route", route), slog.String("path", r.URL.Path),
				slog.Int("status", status), slog.Duration("duration", d), slog.String("token", rw.tokenID))
		}
		*rw = responseWriter{}
		rwPool.Put(rw)
	}()
	if portal {
		s.opts.Portal.ServeHTTP(rw, r)
		return
	}
	if t := s.opts.Transparency; t != nil && r.URL.Path != "/readyz" {
		if err := t.Fault(); err != nil {
			// The log does not extend the last checkpoint signed: no
			// answer from it can be trusted.
			writeProblem(rw, Problem{Type: ProblemBase + credo.EUNAVAILABLE, Title: problemTitles[credo.EUNAVAILABLE], Status: http.StatusServiceUnavailable,
				Detail: "refusing to serve: " + err.Error()})
			return
		}
	}
	s.mux.ServeHTTP(rw, r)
}

// isAPIPath reports whether a path belongs to the API and the operations
// endpoints rather than to the portal.
func isAPIPath(p string) bool {
	return p == "/v1" || strings.HasPrefix(p, "/v1/") || p == "/healthz" || p == "/readyz" || p == "/metrics" || p == "/checkpoint"
}

// notFound answers requests no route matches: 405 with Allow when the path
// exists under other methods, 404 otherwise.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := s.mux.Handler(r2); p != "" && p != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		h := ""
		for i, m := range allow {
			if i > 0 {
				h += ", "
			}
			h += m
		}
		s.writeError(w, r, &httpError{kind: kindMethodNotAllowed, detail: fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, h),
			headers: map[string]string{"Allow": h}})
		return
	}
	s.writeError(w, r, credo.Errorf(credo.ENOTFOUND, "no such endpoint: %s %s (see /v1/openapi.json)", r.Method, r.URL.Path))
}

// decodeJSON decodes a request body of at most limit bytes into v,
// refusing unknown fields, wrong types and trailing data.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	buf := getBuf()
	defer putBuf(buf)
	if err := readBody(r, buf, limit); err != nil {
		return err
	}
	return unmarshalStrict(buf.Bytes(), v)
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	// Encoded before the status is sent, so that a value that cannot be
	// encoded is an error answer, never half of a success.
	if rw, ok := w.(*responseWriter); ok && rw.srv != nil {
		v = inZone(v, rw.srv.zone()) // instants with the policy zone's offset (zone.go)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	setJSONHeaders(w)
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// parseID parses a numeric path parameter.
func parseID(r *http.Request, name string) (int64, error) {
	s := r.PathValue(name)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, invalid(name, "%q is not a positive integer", s)
	}
	return n, nil
}

// remoteHost is the address a request came from, without its port.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
