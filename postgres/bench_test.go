package postgres_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"credo"
	"credo/internal/pgtest"
	"credo/postgres"
	"credo/sqlite"
	"credo/storetest"
)

// The ingest benchmarks report records/s, durable (PostgreSQL with fsync
// and synchronous_commit on; SQLite with synchronous=FULL). docs/design.md §7
// targets >= 200,000 records/s bulk. Baselines in the same run:
//
//   - BenchmarkBulkFile/copy (COPY) against /insert (array INSERTs, the
//     path of small batches), /sqlite (the embedded store) and
//     BenchmarkNaiveInsert (one autocommitted INSERT per record, no chain,
//     no projections);
//   - BenchmarkConcurrentFile: one record per call from 64 and 1024
//     goroutines, on PostgreSQL (group commit under the log lock) and on
//     SQLite (its group commit), and on PostgreSQL with group commit off
//     (one transaction per call).
//
//	go test ./postgres -run '^$' -bench . -count 5

const bulkBatch = 10000

// BenchmarkBulkFile files batches of 10,000 new records (one FileRecords
// call, one transaction each); an op is one batch.
func BenchmarkBulkFile(b *testing.B) {
	b.Run("copy", func(b *testing.B) { benchBulk(b, postgres.Options{}) })
	b.Run("insert", func(b *testing.B) { benchBulk(b, postgres.Options{CopyThreshold: -1}) })
	b.Run("sqlite", func(b *testing.B) {
		db, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		benchBulkOn(b, db)
	})
}

func benchBulk(b *testing.B, opts postgres.Options) {
	db, err := postgres.OpenOptions(ctx, pgtest.NewDatabase(b), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	benchBulkOn(b, db)
}

func benchBulkOn(b *testing.B, db credo.Store) {
	n, cpu := storetest.BenchFileBatches(b, db, bulkBatch, func(i int) int { return i * bulkBatch }, true)
	storetest.ReportRate(b, n)
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "client-cpu-ns/record")
}

// BenchmarkNaiveInsert is the bulk baseline: one autocommitted INSERT of
// the record and its JSON event per record, no chain, no projections. An
// op is one record.
func BenchmarkNaiveInsert(b *testing.B) {
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE records (id bigint PRIMARY KEY, authority text, case_ref text,
		subject text, rule text, decided_at timestamptz, body bytea, hash text, UNIQUE (authority, case_ref))`); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var n int64
	for i := 0; b.Loop(); i++ {
		r := storetest.NewRecord("court.beijing", i, i)
		r.ID, r.FiledAt = int64(i+1), time.Now().UTC()
		body, err := json.Marshal(&credo.Event{Seq: r.ID, Type: credo.EventRecordFiled, Subject: r.Subject, Recorded: r.FiledAt, Record: r})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO records VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			r.ID, r.Authority, r.CaseRef, r.Subject, r.Rule, r.DecidedAt, body, credo.HashBytes(body)); err != nil {
			b.Fatal(err)
		}
		n++
	}
	storetest.ReportRate(b, n)
}

// BenchmarkConcurrentFile files one record per call from 64 and 1024
// goroutines; an op is one record.
func BenchmarkConcurrentFile(b *testing.B) {
	for _, callers := range []int{64, 1024} {
		b.Run(fmt.Sprintf("postgres-%d", callers), func(b *testing.B) {
			db, err := postgres.Open(ctx, pgtest.NewDatabase(b))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			benchConcurrent(b, db, callers)
		})
		b.Run(fmt.Sprintf("sqlite-%d", callers), func(b *testing.B) {
			db, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			benchConcurrent(b, db, callers)
		})
	}
	b.Run("postgres-tx-per-call-64", func(b *testing.B) {
		db, err := postgres.OpenOptions(ctx, pgtest.NewDatabase(b), postgres.Options{MaxGroup: 1})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		benchConcurrent(b, db, 64)
	})
}

func benchConcurrent(b *testing.B, db storetest.Filer, callers int) {
	n := storetest.BenchFileConcurrent(b, db, (callers+runtime.GOMAXPROCS(0)-1)/runtime.GOMAXPROCS(0))
	storetest.ReportRate(b, n)
}
