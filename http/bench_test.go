package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"credo"
	credohttp "credo/http"
)

// benchSubjects are the subjects checked: one denied (on the debtors
// list), one with a record but allowed, one without records.
func benchEnv(b *testing.B, wrap func(credo.CheckLog) credo.CheckLog) *env {
	e := newEnvWith(b, credohttp.Options{RateLimit: -1}, wrap)
	e.file(alice, "(2025)Bench-1")
	r := e.do("POST", "/v1/records", "water", map[string]any{"subject": carol, "rule": "LATE_UTILITY", "case_ref": "w1",
		"decided_at": "2026-06-01", "evidence_sha256": digest("w1"), "quantity": 2})
	if r.status != http.StatusCreated {
		b.Fatalf("filing: %d %s", r.status, r.body)
	}
	return e
}

var benchCases = []struct{ name, subject string }{
	{"deny", alice},
	{"allow-with-records", carol},
	{"allow-no-records", bob},
}

// serveInProcess runs a handler over one reused request per iteration.
func serveInProcess(b *testing.B, h http.Handler, auth, subject string) {
	body := []byte(`{"subject":"` + subject + `","sector":"aviation"}`)
	rd := bytes.NewReader(body)
	req := httptest.NewRequest("POST", "/v1/checks", nil)
	req.Header.Set("Authorization", auth)
	req.ContentLength = int64(len(body))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		req.Body = io.NopCloser(rd)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkCheckHandler is one check through the whole handler stack in
// process (authentication, rate limit, admission, decoding, the decision
// table, logging, encoding), without the network. With the SQLite check
// log the figure is bounded by the log's write throughput (backpressure:
// every check is written); with a log that only counts, it is the cost of
// the handler alone.
func BenchmarkCheckHandler(b *testing.B) {
	for _, log := range benchLogs {
		e := benchEnv(b, log.wrap)
		for _, c := range benchCases {
			b.Run(log.name+"/"+c.name, func(b *testing.B) { serveInProcess(b, e.srv.Handler(), e.auth("airline"), c.subject) })
		}
	}
}

// benchLogs are the check logs the benchmarks run over.
var benchLogs = []struct {
	name string
	wrap func(credo.CheckLog) credo.CheckLog
}{
	{"sqlite-log", nil},
	{"counting-log", func(credo.CheckLog) credo.CheckLog { return &discardLog{} }},
}

// discardLog counts checks and keeps none.
type discardLog struct {
	credo.CheckLog
	n atomic.Int64
}

func (d *discardLog) LogChecks(ctx context.Context, cs []credo.CheckEntry) error {
	d.n.Add(int64(len(cs)))
	return nil
}

// BenchmarkCheckNaiveSQL is the baseline the decision table is measured
// against: a handler that answers each check by loading the subject's
// facts from the store and evaluating them (registry.Explain).
func BenchmarkCheckNaiveSQL(b *testing.B) {
	e := benchEnv(b, nil)
	naive := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q credohttp.CheckRequest
		if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		now := e.reg.Now()
		d, err := e.reg.Explain(r.Context(), q.Subject, q.Sector, now, now)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(d)
	})
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) { serveInProcess(b, naive, "", c.subject) })
	}
}

// BenchmarkCheckHTTP is checks over real loopback HTTP with keep-alive
// connections, from parallel clients; every check is logged.
func BenchmarkCheckHTTP(b *testing.B) {
	for _, log := range benchLogs {
		e := benchEnv(b, log.wrap)
		for _, c := range benchCases {
			b.Run(log.name+"/"+c.name, func(b *testing.B) { checkHTTP(b, e, c.subject) })
		}
	}
}

// BenchmarkCheckHTTPFloor is the yardstick of BenchmarkCheckHTTP: the
// same clients against a handler that reads the body and answers a
// constant allow (no authentication, table or log). No server on this
// machine answers faster with its clients beside it.
func BenchmarkCheckHTTPFloor(b *testing.B) {
	answer := []byte(`{"subject":"` + carol + `","sector":"aviation","decision":"allow","measures":[],"reasons":[],"log_position":3}` + "\n")
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))
	defer ts.Close()
	loadHTTP(b, ts.URL, "Bearer x", carol)
}

func checkHTTP(b *testing.B, e *env, subject string) {
	loadHTTP(b, e.ts.URL, e.auth("airline"), subject)
}

// loadHTTP posts checks of subject to base from parallel keep-alive
// clients and reports checks/s.
func loadHTTP(b *testing.B, base, auth, subject string) {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	body := []byte(`{"subject":"` + subject + `","sector":"aviation"}`)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", base+"/v1/checks", bytes.NewReader(body))
			req.Header.Set("Authorization", auth)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}
