package portal_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"credo"
	credohttp "credo/http"
	"credo/http/portal"
	"credo/policies"
	"credo/registry"
	"credo/sqlite"
)

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

// The subjects of the tests: two residents and a listed company.
var (
	alice   = ric(1)
	bob     = ric(2)
	company = "914403001922038216"
)

const companyName = "Shenzhen Example Trading Co., Ltd."

// env is a server (API and portal) over a real SQLite registry with the
// example Beijing policy, one token per role and a few records.
type env struct {
	t      testing.TB
	db     *sqlite.DB
	reg    *registry.Registry
	portal *portal.Portal
	srv    *credohttp.Server
	ts     *httptest.Server
	secret map[string]string // by token id
	// The records filed: alice's listing and utility arrears, bob's
	// listing, the company's listing.
	aliceJudgment, aliceUtility, bobJudgment, companyJudgment int64
}

var testTokens = []credo.Token{
	{ID: "tok-admin", Role: credo.RoleAdmin, Name: "operator"},
	{ID: "tok-auditor", Role: credo.RoleAuditor, Name: "auditor"},
	{ID: "tok-chaoyang", Role: credo.RoleAuthority, Name: "Chaoyang clerk", Authority: "court.beijing.chaoyang"},
	{ID: "tok-haidian", Role: credo.RoleAuthority, Name: "Haidian clerk", Authority: "court.beijing.haidian"},
	{ID: "tok-water", Role: credo.RoleAuthority, Name: "Waterworks clerk", Authority: "utility.beijing.water"},
	{ID: "tok-airline", Role: credo.RoleChecker, Name: "Air China", Sectors: []string{"aviation"}},
	{ID: "tok-alice", Role: credo.RoleSubject, Name: "alice", Subject: alice},
	{ID: "tok-bob", Role: credo.RoleSubject, Name: "bob", Subject: bob},
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "credo.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg, err := registry.Open(ctx, db, registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, _, err := reg.Publish(ctx, "policies/beijing.yaml", policies.Beijing, now.AddDate(-3, 0, 0)); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, reg: reg, secret: map[string]string{}}
	for _, tk := range testTokens {
		secret, hash := credo.NewTokenSecret()
		tk.Hash, tk.Created = hash, now
		if err := db.CreateToken(ctx, &tk); err != nil {
			t.Fatal(err)
		}
		e.secret[tk.ID] = secret
	}
	// alice consents to the civic score, is listed by the Chaoyang court
	// and owes the waterworks; bob is listed too; so is the company.
	if _, err := reg.Append(ctx, &credo.Event{Type: credo.EventConsentGiven, Subject: alice, Actor: credo.RoleSubject,
		Consent: &credo.Consent{Scheme: "civic", At: now.AddDate(-2, 0, 0), Given: true}}); err != nil {
		t.Fatal(err)
	}
	e.aliceJudgment = e.fileRecord(alice, "Zhang Wei", "JUDGMENT_DEFAULT_ABILITY", "court.beijing.chaoyang", "(2026)京0105执001号", now.AddDate(0, 0, -60))
	e.aliceUtility = e.fileRecord(alice, "Zhang Wei", "LATE_UTILITY_FEES", "utility.beijing.water", "W-2026-0042", now.AddDate(0, 0, -20))
	e.bobJudgment = e.fileRecord(bob, "Li Na", "JUDGMENT_DEFAULT_ABILITY", "court.beijing.haidian", "(2026)京0108执077号", now.AddDate(0, 0, -90))
	e.companyJudgment = e.fileRecord(company, companyName, "JUDGMENT_DEFAULT_ABILITY", "court.beijing.chaoyang", "(2026)京0105执002号", now.AddDate(0, 0, -45))

	var srv *credohttp.Server
	p, err := portal.New(reg, db, db, portal.Options{CensusTTL: time.Millisecond, TokenCacheTTL: 100 * time.Millisecond, SigninRate: -1, // TestSigninRateLimit tests the limit
		FlushChecks: func(ctx context.Context) error { return srv.FlushChecks(ctx) }})
	if err != nil {
		t.Fatal(err)
	}
	// The public lists are answered from a census built in the
	// background: build the first one now.
	if _, err := p.Census().Get(ctx); err != nil {
		t.Fatal(err)
	}
	srv = credohttp.NewServer(reg, db, db, credohttp.Options{Portal: p})
	e.portal, e.srv = p, srv
	e.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		e.ts.Close()
		srv.Close()
	})
	return e
}

// fileRecord files a record and returns its id.
func (e *env) fileRecord(subject, name, rule, authority, caseRef string, decided time.Time) int64 {
	e.t.Helper()
	res, err := e.reg.FileRecord(context.Background(), &credo.Record{Subject: subject, SubjectName: name, Rule: rule, Authority: authority,
		CaseRef: caseRef, DecidedAt: decided, NotifiedAt: decided.Add(24 * time.Hour), EvidenceSHA256: digest(caseRef)})
	if err != nil {
		e.t.Fatalf("filing %s for %s: %v", rule, subject, err)
	}
	return res.Record.ID
}

// checkAPI runs a check through the JSON API as the airline.
func (e *env) checkAPI(subject, sector string) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.ts.URL+"/v1/checks", strings.NewReader(fmt.Sprintf(`{"subject":%q,"sector":%q}`, subject, sector)))
	req.Header.Set("Authorization", "Bearer "+e.secret["tok-airline"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		e.t.Fatalf("check: status %d", resp.StatusCode)
	}
}

// browser is an HTTP client with its own cookies, like one visitor.
type browser struct {
	e      *env
	client *http.Client
	lang   string
}

func (e *env) visitor() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is a finished request.
type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values) *page {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.ts.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	all, err := io.ReadAll(resp.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return &page{status: resp.StatusCode, header: resp.Header, body: string(all)}
}

func (b *browser) get(path string) *page { return b.do("GET", path, nil) }

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// post submits a form the way a browser would after loading formPage:
// with the page's CSRF token.
func (b *browser) post(formPage, action string, form url.Values) *page {
	b.e.t.Helper()
	pg := b.get(formPage)
	m := csrfField.FindStringSubmatch(pg.body)
	if m == nil {
		b.e.t.Fatalf("no CSRF field on %s (status %d)", formPage, pg.status)
	}
	form.Set("csrf", m[1])
	return b.do("POST", action, form)
}

// signIn signs in with a credential and returns the response.
func (b *browser) signIn(credential string) *page {
	return b.post("/signin", "/signin", url.Values{"credential": {credential}})
}

// signedIn returns a visitor signed in with a test token.
func (e *env) signedIn(tokenID string) *browser {
	e.t.Helper()
	b := e.visitor()
	if pg := b.signIn(e.secret[tokenID]); pg.status != http.StatusSeeOther {
		e.t.Fatalf("signing in as %s: status %d: %s", tokenID, pg.status, pg.body)
	}
	return b
}

// mustContain fails unless the page contains every string.
func (p *page) mustContain(t testing.TB, what ...string) {
	t.Helper()
	for _, w := range what {
		if !strings.Contains(p.body, w) {
			t.Errorf("page (status %d) lacks %q", p.status, w)
		}
	}
}

// mustNotContain fails if the page contains any of the strings.
func (p *page) mustNotContain(t testing.TB, what ...string) {
	t.Helper()
	for _, w := range what {
		if strings.Contains(p.body, w) {
			t.Errorf("page (status %d) contains %q", p.status, w)
		}
	}
}

// fieldError returns the error message shown at a form field, or "".
func (p *page) fieldError(field string) string {
	re := regexp.MustCompile(`<p class="error" id="` + regexp.QuoteMeta(field) + `-error" role="alert">([^<]*)</p>`)
	if m := re.FindStringSubmatch(p.body); m != nil {
		return m[1]
	}
	return ""
}
