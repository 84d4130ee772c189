// Package portal is Credo's web portal: server-rendered HTML pages for the
// people who never read an API — the citizen reading their own file, the
// authority's clerk working through objections and repair applications,
// the public looking up the published lists, and the operator watching
// the system.
//
// Every page works without JavaScript, in Chinese and English. It is built
// over the same registry calls as the JSON API; sign-in takes an API token
// or a one-time code and keeps an HMAC-signed session cookie; every form
// carries a CSRF token and answers bad input with a message at the field.
package portal

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"credo"
	"credo/internal/ratelimit"
	"credo/registry"
	"credo/transparency"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/portal.css
var portalCSS []byte

// Options configure a Portal. The zero value is a usable default.
type Options struct {
	// Key signs session cookies and CSRF tokens (default: 32 random bytes
	// per process, so sessions end when the process restarts).
	Key []byte
	// SessionTTL is how long a session lasts (default 8 h).
	SessionTTL time.Duration
	// Secure marks cookies Secure and sends Strict-Transport-Security
	// (set it when served over HTTPS, here or at a proxy in front: credo
	// serve --secure-cookies). Over TLS served here, HSTS is sent anyway.
	Secure bool
	// Logger receives errors (default: none).
	Logger *slog.Logger
	// FlushChecks, if set, waits until every check answered so far is in
	// the check log, so that "who checked me" is complete (the API server's
	// FlushChecks).
	FlushChecks func(ctx context.Context) error
	// Receipt, if set, returns the receipt of a subject's events (see
	// package transparency), which /me/export carries.
	Receipt func(ctx context.Context, subject string) (*transparency.Receipt, error)
	// TokenCacheTTL is how long the portal trusts its copy of the token
	// table, and so how long a revoked token's sessions may last (default
	// 10 s, like the API's token cache).
	TokenCacheTTL time.Duration
	// CensusTTL is how long the scan behind the public lists and the
	// dashboard is reused (default 60 s).
	CensusTTL time.Duration
	// SigninRate is how many sign-in attempts a remote address may make
	// per minute (a token bucket: bursts up to the same number); beyond
	// it the sign-in form answers 429 with Retry-After (default 10;
	// negative: no limit).
	SigninRate int
	// LookupRate is how many public list lookups a remote address may make
	// per minute (a token bucket; beyond it a 429 page with Retry-After;
	// default 30, negative: no limit).
	LookupRate int
	// ListHistoryPoints is the number of monthly instants at which the
	// dashboard counts list sizes (default 6: now and five months back).
	ListHistoryPoints int
}

// Portal serves the web pages.
type Portal struct {
	reg    *registry.Registry
	tokens credo.TokenStore
	checks credo.CheckLog
	opts   Options
	log    *slog.Logger
	key    []byte

	pages  map[string]*template.Template
	mux    *http.ServeMux
	census *registry.CensusCache
	tcache *tokenCache

	signinMu      sync.Mutex // one one-time-code sign-in at a time
	signinLimit   *ratelimit.Limiter
	signinLimitAt func() time.Time   // the limiter's clock (tests move it)
	lookupLimit   *ratelimit.Limiter // public list lookups per address
	histories     historyCache
}

// New returns a portal over a registry, its token store and its check log.
func New(reg *registry.Registry, tokens credo.TokenStore, checks credo.CheckLog, opts Options) (*Portal, error) {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 8 * time.Hour
	}
	if opts.TokenCacheTTL <= 0 {
		opts.TokenCacheTTL = 10 * time.Second
	}
	if opts.CensusTTL <= 0 {
		opts.CensusTTL = 60 * time.Second
	}
	if opts.SigninRate == 0 {
		opts.SigninRate = 10
	}
	if opts.LookupRate == 0 {
		opts.LookupRate = 30
	}
	if opts.ListHistoryPoints <= 0 {
		opts.ListHistoryPoints = 6
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	key := opts.Key
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	p := &Portal{reg: reg, tokens: tokens, checks: checks, opts: opts, log: opts.Logger, key: key,
		mux: http.NewServeMux(), tcache: &tokenCache{store: tokens, ttl: opts.TokenCacheTTL}}
	if opts.SigninRate > 0 {
		p.signinLimit = ratelimit.New(float64(opts.SigninRate)/60, opts.SigninRate)
		p.signinLimitAt = time.Now
	}
	if opts.LookupRate > 0 {
		p.lookupLimit = ratelimit.New(float64(opts.LookupRate)/60, opts.LookupRate)
	}
	p.census = registry.NewCensusCache(reg, registry.CensusOptions{TTL: opts.CensusTTL, Points: opts.ListHistoryPoints, ServeStale: true})
	if err := p.parseTemplates(); err != nil {
		return nil, err
	}
	p.routes()
	return p, nil
}

// Census returns the portal's census cache, for the API server to share
// (one scan of the log serves both).
func (p *Portal) Census() *registry.CensusCache { return p.census }

// pageNames are the page templates; each is parsed with the layout.
var pageNames = []string{"home", "signin", "citizen", "object", "repair", "clerk", "file", "decide", "public", "dashboard", "simulate", "error"}

func (p *Portal) parseTemplates() error {
	p.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("portal template %s: %w", name, err)
		}
		p.pages[name] = t
	}
	return nil
}

// templateSources returns every template's text (for the catalogue test).
func templateSources() (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFS.ReadFile(path)
		out[path] = string(b)
		return err
	})
	return out, err
}

// handler is a page handler: it returns an error to be shown as an error
// page, or nil once it has written its response.
type handler func(w http.ResponseWriter, r *http.Request, c *reqCtx) error

// who may use a route.
type access uint8

const (
	anyone access = iota
	citizens
	clerks
	operators
)

func (p *Portal) routes() {
	p.handle("GET /{$}", anyone, p.handleHome)
	p.handle("GET /signin", anyone, p.handleSigninForm)
	p.handle("POST /signin", anyone, p.handleSignin)
	p.handle("POST /signout", anyone, p.handleSignout)
	p.handle("GET /me", citizens, p.handleCitizen)
	p.handle("GET /me/export", citizens, p.handleExport)
	p.handle("GET /me/object", citizens, p.handleObjectForm)
	p.handle("POST /me/object", citizens, p.handleObject)
	p.handle("GET /me/repair", citizens, p.handleRepairForm)
	p.handle("POST /me/repair", citizens, p.handleRepair)
	p.handle("GET /clerk", clerks, p.handleClerk)
	p.handle("GET /clerk/file", clerks, p.handleFileForm)
	p.handle("POST /clerk/file", clerks, p.handleFile)
	p.handle("GET /clerk/disputes/{id}", clerks, p.handleDisputeForm)
	p.handle("POST /clerk/disputes/{id}", clerks, p.handleDecideDispute)
	p.handle("GET /clerk/repairs/{id}", clerks, p.handleRepairDecisionForm)
	p.handle("POST /clerk/repairs/{id}", clerks, p.handleDecideRepair)
	p.handle("GET /public", anyone, p.handlePublic)
	p.handle("GET /dashboard", operators, p.handleDashboard)
	p.handle("GET /dashboard/simulate", operators, p.handleSimulateForm)
	p.handle("POST /dashboard/simulate", operators, p.handleSimulate)
	p.mux.HandleFunc("GET /static/portal.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(portalCSS)
	})
	p.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.WriteHeader(http.StatusNoContent)
	})
	p.handle("/", anyone, func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		return credo.Errorf(credo.ENOTFOUND, "no such page")
	})
}

// reqCtx is what a handler knows about its request: the language, the
// session (nil when signed out) and the request id.
type reqCtx struct {
	lang    string
	sess    *session
	reqID   string
	csrf    string // the form token for this visitor
	now     time.Time
	loc     *time.Location
	portal  *Portal
	request *http.Request
}

func (p *Portal) handle(pattern string, who access, h handler) {
	p.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c := &reqCtx{portal: p, request: r, now: p.reg.Now(), reqID: newRequestID()}
		defer func() {
			if v := recover(); v != nil {
				p.log.Error("portal panic", "request", c.reqID, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				p.renderError(w, c, http.StatusInternalServerError, "")
			}
		}()
		w.Header().Set("X-Request-Id", c.reqID)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; frame-ancestors 'none'; form-action 'self'")
		c.loc = time.UTC
		if pol, _, err := p.reg.Policy(r.Context()); err == nil {
			c.loc = pol.Location()
		}
		if r.TLS != nil || p.opts.Secure {
			// Served over TLS (here or at a proxy in front): browsers are
			// to come back over TLS only.
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		c.lang = p.language(w, r)
		c.sess = p.readSession(w, r, c.now)
		c.csrf = p.csrfToken(w, r, c.sess)
		if r.Method == http.MethodPost {
			var err error
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				// A form with a file (the draft policy): the text field
				// and the file may each be up to the policy limit.
				r.Body = http.MaxBytesReader(w, r.Body, 2*maxDraftPolicy+64<<10)
				err = r.ParseMultipartForm(2*maxDraftPolicy + 64<<10)
			} else {
				r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
				err = r.ParseForm()
			}
			if err != nil {
				p.renderError(w, c, http.StatusBadRequest, tr(c.lang, "err.form"))
				return
			}
			if !p.csrfOK(r, c.sess) {
				p.renderError(w, c, http.StatusForbidden, tr(c.lang, "err.csrf"))
				return
			}
		}
		if !c.allowed(who) {
			if c.sess == nil {
				http.Redirect(w, r, "/signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			p.renderError(w, c, http.StatusForbidden, tr(c.lang, "err.forbidden"))
			return
		}
		if err := h(w, r, c); err != nil {
			p.writeError(w, c, err)
		}
	})
}

// allowed reports whether the request's session may use a route.
func (c *reqCtx) allowed(who access) bool {
	switch who {
	case anyone:
		return true
	case citizens:
		return c.sess != nil && c.sess.Role == credo.RoleSubject
	case clerks:
		return c.sess != nil && c.sess.Role == credo.RoleAuthority
	case operators:
		return c.sess != nil && (c.sess.Role == credo.RoleAdmin || c.sess.Role == credo.RoleAuditor)
	}
	return false
}

// WarmUp starts building, in the background, the census behind the public
// lists and the dashboard (a scan of the whole log: about 20 s for the
// 200,000-person demo city), so that the first visitor does not wait.
func (p *Portal) WarmUp() { p.census.WarmUp() }

// ServeHTTP serves the portal.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// statusOf maps an error's code to an HTTP status (credo.HTTPStatus, as
// the API answers it).
func statusOf(err error) int { return credo.HTTPStatus(credo.ErrorCode(err)) }

// writeError renders an error page: the caller-safe message for credo
// errors, a generic one (and a log line) for anything else.
func (p *Portal) writeError(w http.ResponseWriter, c *reqCtx, err error) {
	status := statusOf(err)
	msg := ""
	var ce *credo.Error
	if errors.As(err, &ce) && status < 500 {
		msg = credo.ErrorMessage(err)
		if status == http.StatusNotFound {
			msg = tr(c.lang, "err.notfound")
		}
	} else {
		p.log.Error("portal error", "request", c.reqID, "path", c.request.URL.Path, "err", err)
	}
	p.renderError(w, c, status, msg)
}

func (p *Portal) renderError(w http.ResponseWriter, c *reqCtx, status int, msg string) {
	if msg == "" {
		msg = tr(c.lang, "err.internal")
	}
	p.render(w, c, status, "error", "err.title", struct {
		Status  int
		Message string
	}{status, msg})
}

// page is what every template gets: the request context and the page's
// own data.
type page struct {
	*reqCtx
	Title string // catalogue key
	Data  any
}

// render writes a page. A template failure is logged and answered with a
// plain error (the page may be half written: templates are executed into
// a buffer first so that never happens to a user).
func (p *Portal) render(w http.ResponseWriter, c *reqCtx, status int, name, title string, data any) {
	t := p.pages[name]
	var b bytes.Buffer
	if err := t.Execute(&b, &page{reqCtx: c, Title: title, Data: data}); err != nil {
		p.log.Error("portal template", "request", c.reqID, "page", name, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "%s (request %s)\n", tr(c.lang, "err.internal"), c.reqID)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// SetReceipt sets Options.Receipt (before the portal serves).
func (p *Portal) SetReceipt(fn func(ctx context.Context, subject string) (*transparency.Receipt, error)) {
	p.opts.Receipt = fn
}
