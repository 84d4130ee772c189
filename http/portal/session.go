package portal

import (
	"context"
	"credo/policy"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"credo"
)

// Cookie names.
const (
	sessionCookie = "credo_session"
	csrfCookie    = "credo_csrf"
	langCookie    = "lang"
)

// OneTimeCodeName is the Name of a token issued as a one-time code: it
// signs in once, within OneTimeCodeTTL of its creation.
const OneTimeCodeName = credo.OneTimeCodeName

// OneTimeCodeTTL is how long a one-time code may be used after it is issued.
const OneTimeCodeTTL = 24 * time.Hour

// codeAlphabet is Crockford-like base32 without I, L, O, U: easy to read
// out over the phone.
const codeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IssueCode creates a one-time code for a subject: a subject-role token
// named OneTimeCodeName whose secret is 16 characters (80 random bits),
// shown as four groups of four. Only its hash is stored. id must be the
// canonical subject identifier; tokenID the new token's id.
func IssueCode(ctx context.Context, tokens credo.TokenStore, subject, tokenID string, now time.Time) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	var code strings.Builder
	for i, x := range b {
		if i > 0 && i%4 == 0 {
			code.WriteByte('-')
		}
		code.WriteByte(codeAlphabet[x&31])
	}
	t := &credo.Token{ID: tokenID, Hash: credo.HashBytes([]byte(normalizeCode(code.String()))), Role: credo.RoleSubject,
		Name: OneTimeCodeName, Subject: subject, Created: now.UTC()}
	if err := tokens.CreateToken(ctx, t); err != nil {
		return "", err
	}
	return code.String(), nil
}

// normalizeCode turns what a person typed into the code's canonical form:
// upper case, no spaces or dashes, commonly confused letters mapped.
func normalizeCode(s string) string {
	s = strings.ToUpper(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '-' || r == ' ' || r == '\t':
		case r == 'O':
			b.WriteByte('0')
		case r == 'I' || r == 'L':
			b.WriteByte('1')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SessionTokenName is the Name of the token that is the server-side half
// of a portal session: created at sign-in, revoked at sign-out, with the
// role and binding of the token signed in with. Its secret is thrown away
// at once, so it can never be presented to the API (which refuses it by
// name as well).
const SessionTokenName = "portal session"

// session is a signed-in visitor: the token they signed in with (the
// parent) and the session token that ends at sign-out.
type session struct {
	ID        string // the session token's id
	Parent    string // the id of the token signed in with
	Role      string
	Subject   string
	Authority string
	Name      string
	OneTime   bool
	Issued    time.Time
	Expires   time.Time
}

// sessionCookieValue is what the cookie carries, signed: token ids and
// times only — never the subject's identifier, which stays on the server.
type sessionCookieValue struct {
	ID      string    `json:"s"`
	Parent  string    `json:"p"`
	Issued  time.Time `json:"i"`
	Expires time.Time `json:"e"`
}

func (p *Portal) sign(data []byte) string {
	m := hmac.New(sha256.New, p.key)
	m.Write(data)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// encodeSession returns the cookie value of a session: payload.signature.
func (p *Portal) encodeSession(s *session) string {
	b, _ := json.Marshal(sessionCookieValue{ID: s.ID, Parent: s.Parent, Issued: s.Issued, Expires: s.Expires})
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + p.sign([]byte("session:"+payload))
}

// decodeSession verifies and decodes a cookie value.
func (p *Portal) decodeSession(v string) (*sessionCookieValue, bool) {
	payload, sig, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(p.sign([]byte("session:"+payload)))) {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, false
	}
	var s sessionCookieValue
	if json.Unmarshal(b, &s) != nil || s.ID == "" || s.Parent == "" {
		return nil, false
	}
	return &s, true
}

// readSession returns the request's valid session, or nil (clearing a
// cookie that is no longer valid): signature, expiry, the session not
// ended (signed out) and the token signed in with not revoked — a
// one-time code's revocation ends the session it made too.
func (p *Portal) readSession(w http.ResponseWriter, r *http.Request, now time.Time) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	var s *session
	if v, ok := p.decodeSession(ck.Value); ok && now.Before(v.Expires) {
		st, err1 := p.tcache.byID(r.Context(), v.ID, now)
		pt, err2 := p.tcache.byID(r.Context(), v.Parent, now)
		if err1 == nil && err2 == nil && live(st, now) && live(pt, now) && st.Name == SessionTokenName {
			s = &session{ID: st.ID, Parent: pt.ID, Role: st.Role, Subject: st.Subject, Authority: st.Authority, Name: pt.Name,
				OneTime: pt.Name == OneTimeCodeName, Issued: v.Issued, Expires: v.Expires}
		}
	}
	if s == nil {
		p.clearCookie(w, sessionCookie)
	}
	return s
}

// live reports whether a token is not revoked at now.
func live(t *credo.Token, now time.Time) bool { return t.Revoked.IsZero() || now.Before(t.Revoked) }

func (p *Portal) setCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", Expires: expires, HttpOnly: true,
		Secure: p.opts.Secure, SameSite: http.SameSiteLaxMode})
}

func (p *Portal) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: p.opts.Secure, SameSite: http.SameSiteLaxMode})
}

// csrfToken returns the form token of the visitor, setting the visitor's
// random CSRF cookie if it has none. The token is the HMAC of the cookie
// and of the session (none when signed out), so a page on another site
// can neither read nor forge it, a token taken before sign-in is worth
// nothing after it, and one taken in a session nothing once it ends.
func (p *Portal) csrfToken(w http.ResponseWriter, r *http.Request, s *session) string {
	v := ""
	if ck, err := r.Cookie(csrfCookie); err == nil && len(ck.Value) == 32 {
		v = ck.Value
	} else {
		v = p.newCSRFCookie(w, r)
	}
	return p.csrfFor(v, s)
}

// newCSRFCookie sets a new random CSRF cookie (also visible to the
// request's own forms) and returns its value.
func (p *Portal) newCSRFCookie(w http.ResponseWriter, r *http.Request) string {
	var b [16]byte
	rand.Read(b[:])
	v := hex.EncodeToString(b[:])
	p.setCookie(w, csrfCookie, v, time.Time{})
	r.AddCookie(&http.Cookie{Name: csrfCookie, Value: v})
	return v
}

func (p *Portal) csrfFor(cookie string, s *session) string {
	sid := ""
	if s != nil {
		sid = s.ID
	}
	return p.sign([]byte("csrf:" + cookie + ":" + sid))
}

// csrfOK checks a POST form's token against the visitor's cookie and
// session.
func (p *Portal) csrfOK(r *http.Request, s *session) bool {
	ck, err := r.Cookie(csrfCookie)
	if err != nil || len(ck.Value) != 32 {
		return false
	}
	return hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(p.csrfFor(ck.Value, s)))
}

// language picks the page language: ?lang= (remembered in a cookie), the
// lang cookie, Accept-Language, else English.
func (p *Portal) language(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l != "" {
		if l = matchLang(l); l != "" {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
				Secure: p.opts.Secure, SameSite: http.SameSiteLaxMode})
			return l
		}
	}
	if ck, err := r.Cookie(langCookie); err == nil {
		if l := matchLang(ck.Value); l != "" {
			return l
		}
	}
	if h := r.Header.Get("Accept-Language"); h != "" {
		return policy.Negotiate(h) // q-weights honoured
	}
	return "en"
}

// matchLang maps a language tag to a supported language, or "".
func matchLang(tag string) string { return policy.MatchLanguage(tag) }

// tokenCache resolves session token ids: the token store has no lookup by
// id, so the whole (small) token table is reloaded when older than the TTL,
// and when an unknown id turns up (at most once a second).
type tokenCache struct {
	store credo.TokenStore
	ttl   time.Duration

	mu     sync.Mutex
	byid   map[string]*credo.Token
	loaded time.Time
}

func (c *tokenCache) byID(ctx context.Context, id string, now time.Time) (*credo.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.byid[id]
	stale := now.Sub(c.loaded) > c.ttl || now.Before(c.loaded)
	if !ok && now.Sub(c.loaded) > time.Second || stale {
		ts, err := c.store.Tokens(ctx)
		if err != nil {
			return nil, err
		}
		c.byid = make(map[string]*credo.Token, len(ts))
		for _, t := range ts {
			c.byid[t.ID] = t
		}
		c.loaded = now
		t, ok = c.byid[id]
	}
	if !ok {
		return nil, credo.Errorf(credo.ENOTFOUND, "no token %s", id)
	}
	return t, nil
}

// put records a token the portal just saw (at sign-in).
func (c *tokenCache) put(t *credo.Token) {
	c.mu.Lock()
	if c.byid == nil {
		c.byid = map[string]*credo.Token{}
	}
	c.byid[t.ID] = t
	c.mu.Unlock()
}

// signinForm is the sign-in page's data.
type signinForm struct {
	Next   string
	Errors map[string]string
}

func (p *Portal) handleSigninForm(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	p.render(w, c, http.StatusOK, "signin", "signin.title", signinForm{Next: safeNext(r.URL.Query().Get("next"))})
	return nil
}

// safeNext keeps a redirect target on this site: an absolute path on this
// host, or "" (the role's home page). Browsers drop tabs and newlines
// from a URL, read a backslash as a slash and strip leading spaces, so a
// target with any control character, space or backslash is refused, and
// so is anything a URL parser reads as having a scheme or a host, whether
// as given or once percent-decoded.
func safeNext(s string) string {
	if s == "" || len(s) > 2048 || s[0] != '/' {
		return ""
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '\\' || (r >= 0x80 && r <= 0x9f) || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			return ""
		}
	}
	if strings.HasPrefix(s, "//") {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	// Decoded once more (a target double-encoded by a form): still a path.
	if d, err := url.PathUnescape(u.EscapedPath()); err != nil || !strings.HasPrefix(d, "/") || strings.HasPrefix(d, "//") || strings.ContainsAny(d, "\\\t\r\n") {
		return ""
	}
	return s
}

// handleSignin signs in with a bearer token (any role) or a one-time code.
// The credential is never echoed back into the form.
func (p *Portal) handleSignin(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	ctx := r.Context()
	if p.signinLimit != nil {
		// Attempts are limited per remote address, whatever their outcome,
		// so that tokens and one-time codes cannot be guessed at speed.
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if ok, wait := p.signinLimit.Allow(host, p.signinLimitAt()); !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			p.renderError(w, c, http.StatusTooManyRequests, c.Tf("err.ratelimited", max(secs, 1)))
			return nil
		}
	}
	form := signinForm{Next: safeNext(r.PostFormValue("next")), Errors: map[string]string{}}
	secret := strings.TrimSpace(r.PostFormValue("credential"))
	fail := func(key string) error {
		form.Errors["credential"] = tr(c.lang, key)
		p.render(w, c, http.StatusUnauthorized, "signin", "signin.title", form)
		return nil
	}
	if secret == "" {
		form.Errors["credential"] = tr(c.lang, "signin.required")
		p.render(w, c, http.StatusBadRequest, "signin", "signin.title", form)
		return nil
	}
	if len(secret) > 512 {
		return fail("signin.unknown")
	}
	oneTime := !strings.HasPrefix(secret, "credo_")
	if oneTime {
		secret = normalizeCode(secret)
		p.signinMu.Lock()
		defer p.signinMu.Unlock()
	}
	t, err := p.tokens.TokenByHash(ctx, credo.HashBytes([]byte(secret)))
	if err != nil {
		if credo.ErrorCode(err) == credo.ENOTFOUND {
			return fail("signin.unknown")
		}
		return err
	}
	if !t.Revoked.IsZero() && !c.now.Before(t.Revoked) {
		if oneTime {
			return fail("signin.used")
		}
		return fail("signin.revoked")
	}
	if oneTime {
		if t.Name != OneTimeCodeName || t.Role != credo.RoleSubject {
			return fail("signin.unknown")
		}
		if c.now.Sub(t.Created) > OneTimeCodeTTL {
			return fail("signin.expired")
		}
	}
	switch t.Role {
	case credo.RoleSubject, credo.RoleAuthority, credo.RoleAdmin, credo.RoleAuditor:
	default:
		return fail("signin.role")
	}
	// The server-side half of the session: a token with the parent's
	// binding and a secret nobody knows. A one-time code makes exactly one
	// (its id is the code's, suffixed), so a code works once on every
	// node; revoking the code, or the token, ends its sessions.
	sid := t.ID + ".s" + newRequestID()
	if oneTime {
		sid = t.ID + ".session"
	}
	var junk [32]byte
	rand.Read(junk[:])
	st := &credo.Token{ID: sid, Hash: credo.HashBytes(junk[:]), Role: t.Role, Name: SessionTokenName,
		Subject: t.Subject, Authority: t.Authority, Created: c.now.UTC()}
	if err := p.tokens.CreateToken(ctx, st); err != nil {
		if oneTime && credo.ErrorCode(err) == credo.ECONFLICT {
			return fail("signin.used")
		}
		return err
	}
	p.tcache.put(t)
	p.tcache.put(st)
	s := &session{ID: sid, Parent: t.ID, Role: t.Role, Subject: t.Subject, Authority: t.Authority, Name: t.Name,
		OneTime: oneTime, Issued: c.now, Expires: c.now.Add(p.opts.SessionTTL)}
	p.setCookie(w, sessionCookie, p.encodeSession(s), s.Expires)
	// A new CSRF cookie: no form token from before sign-in works after it.
	p.newCSRFCookie(w, r)
	next := form.Next
	if next == "" {
		next = homeOf(s)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// homeOf is where a role lands after sign-in.
func homeOf(s *session) string {
	switch s.Role {
	case credo.RoleSubject:
		return "/me"
	case credo.RoleAuthority:
		return "/clerk"
	default:
		return "/dashboard"
	}
}

// handleSignout ends the session on the server (its token is revoked, so
// a copy of the cookie is worth nothing) and clears the cookie.
func (p *Portal) handleSignout(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if c.sess != nil {
		if err := p.tokens.RevokeToken(r.Context(), c.sess.ID, c.now); err != nil {
			return err
		}
		if t, err := p.tcache.byID(r.Context(), c.sess.ID, c.now); err == nil {
			rt := *t
			rt.Revoked = c.now
			p.tcache.put(&rt)
		}
	}
	p.clearCookie(w, sessionCookie)
	p.newCSRFCookie(w, r)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
