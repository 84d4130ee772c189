package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"credo"
	"credo/sqlite"
)

// BenchmarkLogChecks measures the check log's write path: batches of 1000
// checks of a million subjects, one transaction each, into an empty log
// and into one that already holds 4 Mi checks (sub-benchmark grown;
// CREDO_BENCH_GROWN_CHECKS sets another number): how much the access log's
// random index inserts slow down as the log grows. Reports checks/s.
//
//	go test ./sqlite -run '^$' -bench LogChecks -benchtime 200x -count 3
func BenchmarkLogChecks(b *testing.B) {
	b.Run("empty", func(b *testing.B) { benchLogChecks(b, 0) })
	b.Run("grown", func(b *testing.B) { benchLogChecks(b, grownChecks) })
}

func benchLogChecks(b *testing.B, prefill int) {
	path := filepath.Join(b.TempDir(), "c.db")
	if prefill > 0 {
		// Earlier checks, written straight into a check log of the former
		// format (one index by subject), with random subject keys as a
		// million subjects checked at random give; opening it turns that
		// index into a run (timed: migrate-s).
		cl, err := sql.Open("sqlite", "file:"+sqlite.CheckLogPath(path)+"?_pragma=page_size(1024)&_pragma=journal_mode(WAL)")
		if err != nil {
			b.Fatal(err)
		}
		_, err = cl.Exec(`CREATE TABLE checks (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, skey INTEGER NOT NULL,
			checker TEXT NOT NULL, org TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL, sector TEXT NOT NULL, at TEXT NOT NULL,
			known TEXT NOT NULL, policy TEXT NOT NULL, decision TEXT NOT NULL, measures TEXT NOT NULL DEFAULT '');
			CREATE INDEX checks_skey ON checks(skey)`)
		if err == nil {
			_, err = cl.Exec(`WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
			INSERT INTO checks(id, skey, checker, org, subject, sector, at, known, policy, decision)
			SELECT printf('a%015d', x), (x * 2654435761 + 40503) * 6364136223846793005, 'tok_abc', 'Air China',
				printf('110105%012d', (x * 7919) % 1000000), 'aviation', '2026-11-26T10:00:00Z', '2026-11-26T10:00:00Z',
				'9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'allow' FROM n`, prefill)
		}
		cl.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	db, err := sqlite.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	start := time.Now()
	if _, err := db.ChecksOf(ctx, "110105199003074578", 1); err != nil { // opens the check log
		b.Fatal(err)
	}
	migrate := time.Since(start)
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	const batch = 1000
	cs := make([]credo.CheckEntry, batch)
	b.ReportAllocs()
	b.ResetTimer()
	start = time.Now()
	for i := 0; i < b.N; i++ {
		for j := range cs {
			n := i*batch + j
			cs[j] = credo.CheckEntry{ID: fmt.Sprintf("c%015d", n), Checker: "tok_abc", Org: "Air China",
				Subject: fmt.Sprintf("110105%012d", (n*104729)%1000000), Sector: "aviation", At: at, Known: at,
				Policy: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Decision: "allow"}
		}
		if err := db.LogChecks(ctx, cs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "checks/s")
	if prefill > 0 {
		b.ReportMetric(migrate.Seconds(), "migrate-s")
	}
}

// grownChecks is the number of checks already logged in
// BenchmarkLogChecks/grown: 4 Mi, or CREDO_BENCH_GROWN_CHECKS.
var grownChecks = func() int {
	if n, err := strconv.Atoi(os.Getenv("CREDO_BENCH_GROWN_CHECKS")); err == nil && n > 0 {
		return n
	}
	return 4 << 20
}()
