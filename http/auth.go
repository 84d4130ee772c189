package http

import (
	"context"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"credo"
)

// portalSessionName names the tokens behind web portal sessions (see
// portal.SessionTokenName): never accepted by the API.
const portalSessionName = "portal session"

// roleSet is a set of roles, as a bit mask.
type roleSet uint8

const (
	rAdmin roleSet = 1 << iota
	rAuthority
	rChecker
	rSubject
	rAuditor
	rPublic
)

const rAnyone = rAdmin | rAuthority | rChecker | rSubject | rAuditor | rPublic

func roleBit(role string) roleSet {
	switch role {
	case credo.RoleAdmin:
		return rAdmin
	case credo.RoleAuthority:
		return rAuthority
	case credo.RoleChecker:
		return rChecker
	case credo.RoleSubject:
		return rSubject
	case credo.RoleAuditor:
		return rAuditor
	case credo.RolePublic:
		return rPublic
	}
	return 0
}

func (s roleSet) names() string {
	var out []string
	for _, r := range []string{credo.RoleAdmin, credo.RoleAuthority, credo.RoleChecker, credo.RoleSubject, credo.RoleAuditor, credo.RolePublic} {
		if s&roleBit(r) != 0 {
			out = append(out, r)
		}
	}
	return strings.Join(out, ", ")
}

// principal is who is making a request: a token, or nobody (public).
type principal struct {
	token *credo.Token // nil for public
	role  roleSet
}

var public = &principal{role: rPublic}

// id is the token id for logs and rate limits ("" for public).
func (p *principal) id() string {
	if p.token == nil {
		return ""
	}
	return p.token.ID
}

func (p *principal) is(r roleSet) bool { return p.role&r != 0 }

// mayCheck reports whether the principal may check subjects in a sector.
func (p *principal) mayCheck(sector string) bool {
	if p.is(rAdmin) {
		return true
	}
	return p.is(rChecker) && slices.Contains(p.token.Sectors, sector)
}

// tokenCache keeps positive token lookups for a short while, so that the
// hot path does not query the store on every request. A revocation is
// honoured within the TTL; a revocation time already known is honoured
// exactly.
type tokenCache struct {
	store credo.TokenStore
	ttl   time.Duration

	mu      sync.RWMutex
	entries map[[32]byte]tokenCacheEntry // by secret hash
}

type tokenCacheEntry struct {
	p       *principal // nil for a token without a usable role
	token   *credo.Token
	expires time.Time
}

// maxCachedTokens bounds the cache; it is emptied when full.
const maxCachedTokens = 100000

func newTokenCache(store credo.TokenStore, ttl time.Duration) *tokenCache {
	return &tokenCache{store: store, ttl: ttl, entries: map[[32]byte]tokenCacheEntry{}}
}

// lookup returns the cache entry for a secret hash.
func (c *tokenCache) lookup(ctx context.Context, sum [32]byte, now time.Time) (tokenCacheEntry, error) {
	c.mu.RLock()
	e, ok := c.entries[sum]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e, nil
	}
	t, err := c.store.TokenByHash(ctx, hex.EncodeToString(sum[:]))
	if err != nil {
		return tokenCacheEntry{}, err
	}
	e = tokenCacheEntry{token: t, expires: now.Add(c.ttl)}
	if role := roleBit(t.Role); role != 0 && role != rPublic {
		e.p = &principal{token: t, role: role}
	}
	c.mu.Lock()
	if len(c.entries) >= maxCachedTokens {
		clear(c.entries)
	}
	c.entries[sum] = e
	c.mu.Unlock()
	return e, nil
}

// forget drops a token from the cache (after revoking it through this
// server).
func (c *tokenCache) forget(id string) {
	c.mu.Lock()
	for h, e := range c.entries {
		if e.token.ID == id {
			delete(c.entries, h)
		}
	}
	c.mu.Unlock()
}

// authenticate returns the principal of a request: public without an
// Authorization header, the token's holder with a valid bearer token, and
// an EUNAUTHORIZED error otherwise. The secret is never logged.
func (s *Server) authenticate(r *http.Request, now time.Time) (*principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return public, nil
	}
	secret, ok := cutPrefixFold(h, "Bearer ")
	secret = strings.TrimSpace(secret)
	if !ok || secret == "" || strings.ContainsAny(secret, " \t") || len(secret) > 512 {
		return nil, &credo.Error{Code: credo.EUNAUTHORIZED, Field: "Authorization", Message: "malformed Authorization header: expected `Bearer <token>`"}
	}
	e, err := s.tokens.lookup(r.Context(), credo.TokenSecretSum(secret), now)
	if err != nil {
		if credo.ErrorCode(err) == credo.ENOTFOUND {
			return nil, &credo.Error{Code: credo.EUNAUTHORIZED, Field: "Authorization", Message: "unknown token"}
		}
		return nil, err
	}
	if t := e.token; !t.Revoked.IsZero() && !now.Before(t.Revoked) {
		return nil, &credo.Error{Code: credo.EUNAUTHORIZED, Field: "Authorization",
			Message: "the token was revoked on " + t.Revoked.UTC().Format(time.RFC3339) + ": ask the registry operator for a new one"}
	}
	if e.token.Name == credo.OneTimeCodeName || e.token.Name == portalSessionName {
		// A live one-time code is answered as an unknown token: the API
		// tells nobody which codes exist.
		return nil, &credo.Error{Code: credo.EUNAUTHORIZED, Field: "Authorization", Message: "unknown token"}
	}
	if e.p == nil {
		return nil, &credo.Error{Code: credo.EUNAUTHORIZED, Field: "Authorization", Message: "the token has no usable role"}
	}
	return e.p, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// ForgetToken drops a token from the server's cache, so that its
// revocation takes effect at once rather than within the cache TTL.
func (s *Server) ForgetToken(id string) { s.tokens.forget(id) }
