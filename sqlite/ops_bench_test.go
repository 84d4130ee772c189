package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"credo"
	"credo/sqlite"
)

// BenchmarkLogChecks measures the check log's write path: batches of 1000
// checks, one transaction each. Reports checks/s.
func BenchmarkLogChecks(b *testing.B) {
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "c.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	const batch = 1000
	cs := make([]credo.CheckEntry, batch)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for j := range cs {
			n := i*batch + j
			cs[j] = credo.CheckEntry{ID: fmt.Sprintf("c%015d", n), Checker: "tok_abc", Org: "Air China",
				Subject: fmt.Sprintf("110105%012d", n%1000000), Sector: "aviation", At: at, Known: at,
				Policy: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Decision: "allow"}
		}
		if err := db.LogChecks(ctx, cs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "checks/s")
}
