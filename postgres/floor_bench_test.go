package postgres_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"credo/internal/pgtest"
	"credo/storetest"
)

// The floor benchmarks measure what the server alone can take on this
// machine, durably (fsync and synchronous_commit on), in the bulk
// benchmark's batches of 10,000: rows the size of real record.filed events
// (585 bytes of body, as in a generated city), made before the timer
// starts, sent with pgx's binary COPY in one transaction a batch. No
// validation, no canonical encoding, no log lock, no projections: no store
// on this server can file records faster than its floor. They are the
// yardstick for BenchmarkBulkFile/copy's 200,000 records/s target
// (FLOOR_BODY=N sets the body size instead, down to ~95 bytes: the least an
// event with a subject and a case reference takes):
//
//	go test ./postgres -run '^$' -bench 'BulkFile/copy|Floor' -count 5

// BenchmarkFloorCopyLogOnly copies event rows only (the events table's
// columns and primary key): the log without any projection.
func BenchmarkFloorCopyLogOnly(b *testing.B) { benchCopyFloor(b, false) }

// BenchmarkFloorCopyLogAndKey copies the event rows and, in the same
// transaction, one row per record into a table with the unique
// (authority, case_ref) key that idempotent filing needs.
func BenchmarkFloorCopyLogAndKey(b *testing.B) { benchCopyFloor(b, true) }

func floorRows(from, n int) (events, keys [][]any) {
	now := time.Now().UTC()
	for _, e := range storetest.FloorEvents(from, n) {
		from++
		events = append(events, []any{int64(from), "record.filed", e.Subject, now, e.Body, e.Hash, e.Hash})
		keys = append(keys, []any{int64(from), "court.beijing", e.CaseRef, e.Subject})
	}
	return events, keys
}

func benchCopyFloor(b *testing.B, key bool) {
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE events (seq bigint PRIMARY KEY, type text NOT NULL, subject text NOT NULL,
		recorded timestamptz NOT NULL, body bytea NOT NULL, prev_hash text NOT NULL, hash text NOT NULL);
		CREATE TABLE records (id bigint PRIMARY KEY, authority text NOT NULL, case_ref text NOT NULL,
		subject text NOT NULL, UNIQUE (authority, case_ref))`); err != nil {
		b.Fatal(err)
	}
	var n int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		events, keys := floorRows(i*bulkBatch, bulkBatch)
		b.StartTimer()
		tx, err := conn.Begin(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"seq", "type", "subject", "recorded", "body", "prev_hash", "hash"}, pgx.CopyFromRows(events)); err != nil {
			b.Fatal(err)
		}
		if key {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"records"}, []string{"id", "authority", "case_ref", "subject"}, pgx.CopyFromRows(keys)); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		n += int64(len(events))
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
