package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"credo"
)

func TestPortalCode(t *testing.T) {
	db := newRegistry(t)
	code, out, errs := runCLI(t, "portal", "code", "--db", db, ric(1))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !regexp.MustCompile(`^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}\n$`).MatchString(out) || !strings.Contains(errs, "signs in once") {
		t.Fatalf("stdout %q, stderr %q", out, errs)
	}
	st, err := openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, err := st.TokenByHash(context.Background(), credo.HashBytes([]byte(strings.ReplaceAll(strings.TrimSpace(out), "-", ""))))
	if err != nil {
		t.Fatalf("the code's token: %v", err)
	}
	if tok.Role != credo.RoleSubject || tok.Subject != ric(1) || tok.Name != "one-time code" || !tok.Revoked.IsZero() {
		t.Fatalf("token %+v", tok)
	}
	// A bad identifier is refused with the reason.
	if code, _, errs := runCLI(t, "portal", "code", "--db", db, "110105194912310021"); code != 1 || !strings.Contains(errs, "check character") {
		t.Fatalf("bad subject: exit %d: %s", code, errs)
	}
}

// freeAddr returns a loopback address with a port free right now.
func TestServePortal(t *testing.T) {
	db := newRegistry(t)
	for _, tc := range []struct {
		name   string
		args   []string
		status int
		ctype  string
	}{
		{"portal", nil, 200, "text/html; charset=utf-8"},
		{"no portal", []string{"--no-portal"}, 404, "application/problem+json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := freeAddr(t)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan int, 1)
			go func() {
				done <- run(ctx, append([]string{"serve", "--db", db, "--addr", addr}, tc.args...), strings.NewReader(""), io.Discard, io.Discard)
			}()
			defer func() {
				cancel()
				if code := <-done; code != 0 {
					t.Errorf("serve exited %d", code)
				}
			}()
			var resp *http.Response
			for i := 0; ; i++ {
				r, err := http.Get("http://" + addr + "/")
				if err == nil {
					resp = r
					break
				}
				if i > 200 {
					t.Fatalf("server never answered: %v", err)
				}
				time.Sleep(25 * time.Millisecond)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != tc.ctype {
				t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			// The API is there either way.
			r, err := http.Get("http://" + addr + "/v1/nope")
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != 404 || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("GET /v1/nope: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
			}
		})
	}
}
