package http_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	credohttp "credo/http"
)

// BenchmarkCheckHTTPBatch is batch checks over real loopback HTTP: 500
// subjects a call (one denied, one with records, one without, repeated),
// from parallel clients; every check is logged in the SQLite check log.
// checks/s counts subjects.
func BenchmarkCheckHTTPBatch(b *testing.B) {
	const per = 500
	e := benchEnv(b, nil)
	subjects := make([]string, per)
	for i := range subjects {
		subjects[i] = benchCases[i%len(benchCases)].subject
	}
	body, err := json.Marshal(credohttp.CheckBatchRequest{Sector: "aviation", Subjects: subjects})
	if err != nil {
		b.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	auth := e.auth("airline")
	b.SetParallelism(2)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("POST", e.ts.URL+"/v1/checks/batch", bytes.NewReader(body))
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
	b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "checks/s")
}

// BenchmarkCheckHTTPNaive is the baseline for checks over HTTP: the same
// server and client, but every check answered by loading the subject's
// facts with SQL queries and evaluating the policy (serve --naive-checks),
// and logged.
func BenchmarkCheckHTTPNaive(b *testing.B) {
	e := newEnvWith(b, credohttp.Options{RateLimit: -1, NaiveChecks: true}, nil)
	e.file(alice, "(2025)Bench-1")
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) { checkHTTP(b, e, c.subject) })
	}
}

// BenchmarkCheckHTTPDurable compares, in one run, checks over loopback
// HTTP answered once their log entry is committed (durable, the default:
// group commit into the SQLite check log) against checks answered first
// and logged within 50 ms (async, Options.CheckLogAsync, the behaviour
// before). It reports checks/s and the p50 and p99 latency.
func BenchmarkCheckHTTPDurable(b *testing.B) {
	for _, mode := range []struct {
		name  string
		async bool
	}{{"durable", false}, {"async", true}} {
		b.Run(mode.name, func(b *testing.B) {
			e := newEnvWith(b, credohttp.Options{RateLimit: -1, CheckLogAsync: mode.async}, nil)
			e.file(alice, "(2025)Bench-1")
			tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			auth := e.auth("airline")
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(16) // 32 clients on 2 cores, as bench/load.sh's wrk -c32
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				i := 0
				for pb.Next() {
					i++
					body := []byte(`{"subject":"` + benchCases[i%len(benchCases)].subject + `","sector":"aviation"}`)
					start := time.Now()
					req, _ := http.NewRequest("POST", e.ts.URL+"/v1/checks", bytes.NewReader(body))
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
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}
