package sqlite_test

import (
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"credo"
	"credo/sqlite"
	"credo/storetest"
)

// The ingest benchmarks report records/s. docs/design.md §7 targets, durable
// (synchronous=FULL): >= 200,000 records/s bulk and >= 20,000/s for
// concurrent single-record calls with group commit. For a run at the scale
// of the target (1M records in batches of 10k):
//
//	go test ./sqlite -run '^$' -bench BulkFile -benchtime 100x
//
// The baselines: BenchmarkNaiveInsert (one autocommitted INSERT per record)
// for bulk, BenchmarkTxPerRecord (group commit off: one transaction per
// call) for concurrent filing.

const bulkBatch = 10000

func reportCPU(b *testing.B, cpu time.Duration, n int64) {
	if n > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/record")
	}
}

// BenchmarkBulkFile files batches of 10,000 new records (one FileRecords
// call, one transaction each); an op is one batch.
func BenchmarkBulkFile(b *testing.B) { benchBulk(b, sqlite.Options{}) }

func benchBulk(b *testing.B, opts sqlite.Options) {
	db, err := sqlite.OpenOptions(filepath.Join(b.TempDir(), "bench.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	n, cpu := storetest.BenchFileBatches(b, db, bulkBatch, func(i int) int { return i * bulkBatch }, true)
	storetest.ReportRate(b, n)
	reportCPU(b, cpu, n)
}

// BenchmarkBulkRefile re-files batches that are already stored (the
// idempotent path: lookups, no writes).
func BenchmarkBulkRefile(b *testing.B) {
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const stored = 10 * bulkBatch
	for i := 0; i < stored; i += bulkBatch {
		if _, err := db.FileRecords(ctx, storetest.BenchRecords(i, bulkBatch)); err != nil {
			b.Fatal(err)
		}
	}
	n, cpu := storetest.BenchFileBatches(b, db, bulkBatch, func(i int) int { return (i * bulkBatch) % stored }, false)
	storetest.ReportRate(b, n)
	reportCPU(b, cpu, n)
}

// BenchmarkNaiveInsert is the bulk baseline: the same file settings (WAL,
// synchronous=FULL), one autocommitted INSERT of the record and its JSON
// event per record, no projections. An op is one record.
func BenchmarkNaiveInsert(b *testing.B) {
	path := filepath.Join(b.TempDir(), "naive.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE records (id INTEGER PRIMARY KEY, authority TEXT, case_ref TEXT,
		subject TEXT, rule TEXT, decided_at TEXT, body BLOB, hash TEXT, UNIQUE (authority, case_ref))`); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var n int64
	c := storetest.CPUTime()
	for i := 0; b.Loop(); i++ {
		r := storetest.NewRecord("court.beijing", i, i)
		r.ID, r.FiledAt = int64(i+1), time.Now().UTC()
		body, err := json.Marshal(&credo.Event{Seq: r.ID, Type: credo.EventRecordFiled, Subject: r.Subject, Recorded: r.FiledAt, Record: r})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Exec("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			r.ID, r.Authority, r.CaseRef, r.Subject, r.Rule, r.DecidedAt.UTC().Format(time.RFC3339Nano), body, credo.HashBytes(body)); err != nil {
			b.Fatal(err)
		}
		n++
	}
	storetest.ReportRate(b, n)
	reportCPU(b, storetest.CPUTime()-c, n)
}

// benchConcurrent files one record per call from perCPU goroutines per
// CPU; an op is one record.
func benchConcurrent(b *testing.B, opts sqlite.Options, perCPU int) {
	db, err := sqlite.OpenOptions(filepath.Join(b.TempDir(), "bench.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	c := storetest.CPUTime()
	n := storetest.BenchFileConcurrent(b, db, perCPU)
	storetest.ReportRate(b, n)
	reportCPU(b, storetest.CPUTime()-c, n)
}

// BenchmarkGroupCommit is concurrent single-record filing with group
// commit (the default), from 32 goroutines per CPU.
func BenchmarkGroupCommit(b *testing.B) { benchConcurrent(b, sqlite.Options{}, 32) }

// BenchmarkGroupCommit512 is the same from 512 goroutines per CPU: the
// groups, and so the records per fsync, grow with the number of callers.
func BenchmarkGroupCommit512(b *testing.B) { benchConcurrent(b, sqlite.Options{}, 512) }

// BenchmarkTxPerRecord is the baseline: the same load as
// BenchmarkGroupCommit with group commit off, one transaction (and fsync)
// per call.
func BenchmarkTxPerRecord(b *testing.B) { benchConcurrent(b, sqlite.Options{MaxGroup: 1}, 32) }
