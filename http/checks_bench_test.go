package http_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

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
