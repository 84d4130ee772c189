package http_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"credo"
	credohttp "credo/http"
	"credo/registry"
	"credo/sqlite"
)

func TestHealthAndReadiness(t *testing.T) {
	t.Run("ready", func(t *testing.T) {
		e := newEnv(t, credohttp.Options{})
		if r := e.do("GET", "/healthz", "", nil); r.status != 200 {
			t.Errorf("healthz %d", r.status)
		}
		if r := e.do("GET", "/readyz", "", nil); r.status != 200 || !strings.Contains(string(r.body), e.policy) {
			t.Errorf("readyz %d %s", r.status, r.body)
		}
	})
	t.Run("no policy", func(t *testing.T) {
		db, err := sqlite.Open(filepath.Join(t.TempDir(), "empty.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		reg, err := registry.Open(context.Background(), db, registry.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv := credohttp.NewServer(reg, db, db, credohttp.Options{})
		defer srv.Close()
		h := srv.Handler()
		for path, want := range map[string]int{"/healthz": 200, "/readyz": 503, "/v1/lists/debtors": 503} {
			req, _ := http.NewRequest("GET", path, nil)
			rec := newRecorder()
			h.ServeHTTP(rec, req)
			if rec.status != want {
				t.Errorf("%s: %d, want %d: %s", path, rec.status, want, rec.body.String())
			}
		}
	})
}

// recorder is a minimal ResponseWriter for in-process calls.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}

func TestG15MetricsHideBusinessFiguresWithoutAToken(t *testing.T) {
	e := newEnv(t, credohttp.Options{})
	e.file(alice, "(2025)Metrics-1")
	e.check("airline", alice, "aviation")
	e.check("airline", bob, "aviation")
	if err := e.srv.FlushChecks(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Anonymous: operational metrics only, no per-sector or per-authority
	// business figures (issue 14 item 15).
	anon := e.do("GET", "/metrics", "", nil)
	for _, business := range []string{"credo_checks_total", "credo_disputes_open", "credo_repairs_overdue", `sector="aviation"`, `authority="court.test"`} {
		if strings.Contains(string(anon.body), business) {
			t.Errorf("anonymous metrics show %s", business)
		}
	}
	if !strings.Contains(string(anon.body), `credo_http_in_flight`) {
		t.Error("anonymous metrics lack the operational ones")
	}
	r := e.do("GET", "/metrics", "auditor", nil)
	for _, want := range []string{
		`credo_disputes_open{authority="court.test"} 0`,
		`credo_http_requests_total{code="200",route="POST /v1/checks"} 2`,
		`credo_http_requests_total{code="201",route="POST /v1/records"} 1`,
		`credo_http_request_duration_seconds_bucket{code="200",route="POST /v1/checks",le=`,
		`credo_checks_total{decision="deny",sector="aviation"} 1`,
		`credo_checks_total{decision="allow",sector="aviation"} 1`,
		`credo_records_filed_total{result="created"} 1`,
		`credo_checklog_queue_depth 0`,
		`credo_checklog_written_total 2`,
		`credo_checklog_flush_duration_seconds_count`,
		`credo_http_in_flight`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestAdmissionControl(t *testing.T) {
	e := newEnv(t, credohttp.Options{MaxInFlight: 1})
	// A request whose body trickles in holds the only slot. The probe may
	// win the race for the slot before the slow request is admitted; then
	// the slow request is the one refused, and the scenario is run again.
	for attempt := 1; ; attempt++ {
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("POST", e.ts.URL+"/v1/checks", pr)
		req.Header.Set("Authorization", e.auth("airline"))
		var wg sync.WaitGroup
		var slowStatus int
		wg.Go(func() {
			resp, err := e.ts.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			slowStatus = resp.StatusCode
		})
		pw.Write([]byte(`{"subject":"` + alice + `",`))
		time.Sleep(20 * time.Millisecond) // let the slow request be admitted
		deadline := time.Now().Add(5 * time.Second)
		var r *response
		for time.Now().Before(deadline) {
			if r = e.do("GET", "/v1/policies", "", nil); r.status == http.StatusServiceUnavailable {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		var healthz int
		if r.status == http.StatusServiceUnavailable {
			healthz = e.do("GET", "/healthz", "", nil).status // probes still answer at capacity
		}
		pw.Write([]byte(`"sector":"aviation"}`))
		pw.Close()
		wg.Wait()
		if slowStatus == http.StatusServiceUnavailable && r.status != http.StatusServiceUnavailable && attempt < 5 {
			continue // the probe took the slot first
		}
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || r.problem(t).Type != credohttp.ProblemBase+"overloaded" {
			t.Errorf("while at capacity: %d %v %s", r.status, r.header, r.body)
		}
		if healthz != 200 {
			t.Errorf("healthz at capacity: %d", healthz)
		}
		if slowStatus != 200 {
			t.Errorf("the slow request: %d", slowStatus)
		}
		break
	}
	if r := e.do("GET", "/v1/policies", "", nil); r.status != 200 {
		t.Errorf("after: %d", r.status)
	}
}

// failingTokens is a token store that is down.
type failingTokens struct{ credo.TokenStore }

func (failingTokens) TokenByHash(ctx context.Context, hash string) (*credo.Token, error) {
	return nil, errors.New("connection refused to tokens.internal:5432")
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	e := newEnv(t, credohttp.Options{})
	var logs bytes.Buffer
	srv := credohttp.NewServer(e.reg, failingTokens{e.tokens}, e.checks, credohttp.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	defer srv.Close()
	req, _ := http.NewRequest("POST", "/v1/checks", strings.NewReader(`{}`))
	req.Header.Set("Authorization", e.auth("airline"))
	rec := newRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.status != 500 || strings.Contains(rec.body.String(), "tokens.internal") || !strings.Contains(rec.body.String(), ProblemInternal) {
		t.Errorf("%d %s", rec.status, rec.body.String())
	}
	if !strings.Contains(logs.String(), "tokens.internal") {
		t.Errorf("the cause is not logged: %s", logs.String())
	}
}

const ProblemInternal = credohttp.ProblemBase + "internal"

func TestLogsNeverHoldSecrets(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, credohttp.Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	e.file(alice, "(2025)Logs-1")
	e.check("airline", alice, "aviation")
	e.do("GET", "/v1/stats", "revoked", nil)
	e.do("GET", "/v1/stats", "airline", nil)
	e.do("POST", "/v1/checks", "airline", `{"subject":"x","sector":"aviation"}`)
	out := logs.String()
	for name, secret := range e.secret {
		if strings.Contains(out, secret) || strings.Contains(out, secret[len("credo_"):]) {
			t.Errorf("the secret of %s is in the logs", name)
		}
	}
	for _, want := range []string{`"route":"POST /v1/checks"`, `"status":403`, `"token":"tok-airline"`, `"duration"`, `"method":"POST"`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestListenAndServeTLS(t *testing.T) {
	e := newEnv(t, credohttp.Options{})
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pool := selfSigned(t, certFile, keyFile)
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	srv := credohttp.NewServer(e.reg, e.tokens, e.checks, credohttp.Options{OnListen: func(a net.Addr) { addrc <- a.String() }})
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, "127.0.0.1:0", certFile, keyFile) }()
	addr := <-addrc
	c := credohttp.NewClient("https://"+addr, e.secret["airline"])
	c.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if d, err := c.Check(ctx, bob, "aviation"); err != nil || d.Decision != "allow" {
		t.Errorf("check over TLS: %+v %v", d, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe: %v", err)
	}
	if err := credohttp.NewServer(e.reg, e.tokens, e.checks, credohttp.Options{}).ListenAndServe(context.Background(), "127.0.0.1:0", certFile, ""); credo.ErrorCode(err) != credo.EINVALID {
		t.Errorf("certificate without key: %v", err)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// a pool that trusts it.
func selfSigned(t *testing.T, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "credo test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
