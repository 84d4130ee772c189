package portal_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	credohttp "credo/http"
)

var readingBodies = regexp.MustCompile(`(?m)^credo_http_reading_bodies (\d+)`)

// Hundreds of anonymous clients trickle a sign-in form a byte at a time;
// an airline's checks are answered meanwhile, and the trickling clients
// are cut off once their time is up.
func TestG09SlowBodiesDoNotStarveChecks(t *testing.T) {
	e := newEnv(t)
	const slow, slots = 300, 32
	srv := credohttp.NewServer(e.reg, e.db, e.db, credohttp.Options{Portal: e.portal, MaxInFlight: slots, BodyReadTimeout: time.Minute})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range slow {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		// The headers in full, then one byte of a 1,000-byte body.
		fmt.Fprintf(c, "POST /signin HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nc", addr)
	}
	// Wait until the server is reading every one of those bodies.
	metrics := func() string {
		resp, err := http.Get(ts.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		m := readingBodies.FindStringSubmatch(metrics())
		if m != nil && m[1] == strconv.Itoa(slow) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server is not reading %d bodies: %v", slow, m)
		}
	}
	// Another byte from each, as the attack goes on.
	for _, c := range conns {
		c.Write([]byte("r"))
	}
	// The airline's checks are answered: half as many at once as there
	// are slots, ten each.
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	const workers, each = slots / 2, 10
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				req, _ := http.NewRequest("POST", ts.URL+"/v1/checks", strings.NewReader(fmt.Sprintf(`{"subject":%q,"sector":"aviation"}`, alice)))
				req.Header.Set("Authorization", "Bearer "+e.secret["tok-airline"])
				resp, err := http.DefaultClient.Do(req)
				code := -1
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if codes[http.StatusOK] != workers*each {
		t.Errorf("checks under a slow-body attack: %v (status: count), want all 200", codes)
	}
}

// A body that does not arrive within the read timeout is cut off with 408.
func TestG09SlowBodyIsCutOff(t *testing.T) {
	e := newEnv(t)
	srv := credohttp.NewServer(e.reg, e.db, e.db, credohttp.Options{Portal: e.portal, BodyReadTimeout: 200 * time.Millisecond})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	defer srv.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /signin HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nc", addr)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a body that never arrives: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408", resp.StatusCode)
	}
}
