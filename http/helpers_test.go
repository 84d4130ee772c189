package http_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credo"
	credohttp "credo/http"
	"credo/registry"
	"credo/seal"
	"credo/sqlite"
	"credo/transparency"
)

const testPolicy = "testdata/policy.yaml"

// ric returns a valid Resident Identity Card number of a person born in
// 1980 in Beijing Chaoyang, numbered n.
func ric(n int) string {
	base := fmt.Sprintf("11010519800101%03d", n%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(base[i]-'0') * w
	}
	return base + string("10X98765432"[sum%11])
}

func digest(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// The subjects of the tests.
var (
	alice = ric(1)
	bob   = ric(2)
	carol = ric(3)
)

// env is a running server over a real SQLite registry with one token per
// role of the tests.
type env struct {
	t      testing.TB
	db     *sqlite.DB
	signer *transparency.Signer
	reg    *registry.Registry
	tokens credo.TokenStore
	checks credo.CheckLog
	srv    *credohttp.Server
	ts     *httptest.Server
	secret map[string]string // by token name
	policy string            // hash of the policy in force
}

// The tokens of the tests, by name.
var testTokens = []credo.Token{
	{ID: "tok-admin", Name: "admin", Role: credo.RoleAdmin},
	{ID: "tok-court", Name: "court", Role: credo.RoleAuthority, Authority: "court.test"},
	{ID: "tok-water", Name: "water", Role: credo.RoleAuthority, Authority: "utility.water"},
	{ID: "tok-airline", Name: "airline", Role: credo.RoleChecker, Sectors: []string{"aviation", "rail"}},
	{ID: "tok-isp", Name: "isp", Role: credo.RoleChecker, Sectors: []string{"internet"}},
	{ID: "tok-alice", Name: "alice", Role: credo.RoleSubject, Subject: alice},
	{ID: "tok-bob", Name: "bob", Role: credo.RoleSubject, Subject: bob},
	{ID: "tok-auditor", Name: "auditor", Role: credo.RoleAuditor},
	{ID: "tok-revoked", Name: "revoked", Role: credo.RoleAdmin},
}

func newEnv(t testing.TB, opts credohttp.Options) *env {
	t.Helper()
	return newEnvWith(t, opts, nil)
}

// newEnvWith is newEnv with the check log wrapped by wrap (if not nil).
func newEnvWith(t testing.TB, opts credohttp.Options, wrap func(credo.CheckLog) credo.CheckLog) *env {
	t.Helper()
	return newEnvIn(t, t.TempDir(), opts, wrap)
}

// newEnvIn is newEnvWith with the registry's files in dir.
func newEnvIn(t testing.TB, dir string, opts credohttp.Options, wrap func(credo.CheckLog) credo.CheckLog) *env {
	return newEnvStore(t, dir, opts, wrap, false)
}

// newSealedEnv is newEnv over a sealed store (package seal): e.db is the
// SQLite file under it.
func newSealedEnv(t testing.TB, opts credohttp.Options) *env {
	return newEnvStore(t, t.TempDir(), opts, nil, true)
}

func newEnvStore(t testing.TB, dir string, opts credohttp.Options, wrap func(credo.CheckLog) credo.CheckLog, sealed bool) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(dir, "credo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var st credo.RegistryStore = db
	var sst *seal.Store
	if sealed {
		keys, err := seal.NewKeys()
		if err != nil {
			t.Fatal(err)
		}
		if sst, err = seal.Open(ctx, db, keys, seal.Options{}); err != nil {
			t.Fatal(err)
		}
		st = sst
	}
	reg, err := registry.Open(ctx, st, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	pv, _, err := reg.Publish(ctx, "policy.yaml", src, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tokens, checks := stores(db)
	if sst != nil {
		tokens, checks = sst, sst
	}
	if wrap != nil {
		checks = wrap(checks)
	}
	e := &env{t: t, db: db, reg: reg, tokens: tokens, checks: checks, secret: map[string]string{}, policy: pv.Hash}
	for _, tk := range testTokens {
		secret, hash := credo.NewTokenSecret()
		tk.Hash, tk.Created = hash, time.Now()
		if err := tokens.CreateToken(ctx, &tk); err != nil {
			t.Fatal(err)
		}
		e.secret[tk.Name] = secret
	}
	if err := tokens.RevokeToken(ctx, "tok-revoked", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if opts.Transparency == withTransparency {
		opts.Transparency = testSigner(t, db)
		e.signer = opts.Transparency
	}
	if opts.AuthFailures == 0 {
		opts.AuthFailures = -1 // the tests that want the limit set it
	}
	e.srv = credohttp.NewServer(reg, tokens, checks, opts)
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(func() {
		e.ts.Close()
		if err := e.srv.Close(); err != nil {
			t.Errorf("closing the server: %v", err)
		}
	})
	return e
}

// stores returns the token store and check log of the SQLite store; the
// check log counts checks for /v1/stats (credo.CheckCounter).
func stores(db *sqlite.DB) (credo.TokenStore, credo.CheckLog) {
	return db, countingStore{db}
}

// countingStore adapts the SQLite store's CheckStats to
// credo.CheckCounter.
type countingStore struct{ *sqlite.DB }

func (c countingStore) CountChecks(ctx context.Context, from, to time.Time, fn func(day time.Time, sector, decision string, n int64) error) error {
	stats, err := c.DB.CheckStats(ctx, from, to)
	if err != nil {
		return err
	}
	for _, s := range stats {
		day, err := time.Parse("2006-01-02", s.Day)
		if err != nil {
			return err
		}
		if err := fn(day, s.Sector, s.Decision, s.Count); err != nil {
			return err
		}
	}
	return nil
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// auth returns the Authorization header for a token name: "" for none,
// "malformed" for a malformed header, else a bearer token.
func (e *env) auth(name string) string {
	switch name {
	case "", "public":
		return ""
	case "malformed":
		return "Basic dXNlcjpwYXNz"
	}
	s, ok := e.secret[name]
	if !ok {
		e.t.Fatalf("no token %q", name)
	}
	return "Bearer " + s
}

// do sends a request over the network. body is sent as is when it is a
// string or []byte, else encoded as JSON.
func (e *env) do(method, path, token string, body any) *response {
	e.t.Helper()
	return e.doType(method, path, token, "", body)
}

// doType is env.do with a Content-Type (none when media is ""). body is
// sent as is when it is a string or []byte, else encoded as JSON.
func (e *env) doType(method, path, token, media string, body any) *response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if media != "" {
		req.Header.Set("Content-Type", media)
	}
	if a := e.auth(token); a != "" {
		req.Header.Set("Authorization", a)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

// decode decodes the body into v.
func (r *response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// problem decodes a problem+json body, failing if it is not one.
func (r *response) problem(t testing.TB) credohttp.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d, Content-Type %q, want application/problem+json: %s", r.status, ct, r.body)
	}
	var p credohttp.Problem
	r.decode(t, &p)
	if p.Status != r.status {
		t.Fatalf("problem status %d in a %d response", p.Status, r.status)
	}
	return p
}

// judgment returns a record filing request for a judgment default against
// subject by the test court.
func judgment(subject, caseRef string) map[string]any {
	return map[string]any{
		"subject": subject, "rule": "JUDGMENT_DEFAULT", "authority": "court.test", "case_ref": caseRef,
		"decided_at": "2025-01-10T10:00:00+08:00", "evidence_sha256": digest(caseRef), "subject_name": "Test Person " + caseRef,
	}
}

// file files a judgment default and returns the record.
func (e *env) file(subject, caseRef string) credo.Record {
	e.t.Helper()
	r := e.do("POST", "/v1/records", "court", judgment(subject, caseRef))
	if r.status != http.StatusCreated {
		e.t.Fatalf("filing: status %d: %s", r.status, r.body)
	}
	var rec credo.Record
	r.decode(e.t, &rec)
	return rec
}

// check runs a check and returns its result.
func (e *env) check(token, subject, sector string) credohttp.CheckResult {
	e.t.Helper()
	r := e.do("POST", "/v1/checks", token, map[string]string{"subject": subject, "sector": sector})
	if r.status != http.StatusOK {
		e.t.Fatalf("check: status %d: %s", r.status, r.body)
	}
	var res credohttp.CheckResult
	r.decode(e.t, &res)
	return res
}

var timeZero time.Time

func itoa(n int64) string { return fmt.Sprint(n) }

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func asErr(err error, target **credo.Error) bool { return errors.As(err, target) }

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
