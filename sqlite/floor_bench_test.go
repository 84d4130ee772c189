package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credo/storetest"
)

// The floor benchmarks measure what the driver alone can write on this
// machine, durably, in the bulk benchmark's batches of 10,000: rows the size
// of real record.filed events (585 bytes of body, as in a generated city),
// made before the timer starts, inserted 50 rows a statement in one
// transaction a batch, with the store's settings (WAL, synchronous=FULL).
// No validation, no canonical encoding, no hashing, no projections: no
// store built on this driver can file records faster than its floor. They
// are the yardstick for BenchmarkBulkFile's 200,000 records/s target
// (FLOOR_BODY=N sets the body size instead, down to ~95 bytes: the least an
// event with a subject and a case reference takes):
//
//	go test ./sqlite -run '^$' -bench 'BulkFile$|Floor' -benchtime 30x -count 5

// BenchmarkFloorLogOnly inserts event rows only (the events table's
// schema, sequential keys): the log without any projection.
func BenchmarkFloorLogOnly(b *testing.B) { benchFloor(b, false) }

// BenchmarkFloorLogAndKey inserts the event rows and, in the same
// transaction, one row per record into a table with the unique
// (authority, case_ref) key that idempotent filing needs: the least a
// registry that refuses duplicates must write.
func BenchmarkFloorLogAndKey(b *testing.B) { benchFloor(b, true) }

const floorPer = 50

var (
	floorEvents = "INSERT INTO events VALUES " + strings.TrimSuffix(strings.Repeat("(?, 'record.filed', ?, ?, ?, ?, ?),", floorPer), ",")
	floorKeys   = "INSERT INTO records VALUES " + strings.TrimSuffix(strings.Repeat("(?, 'court.beijing', ?, ?),", floorPer), ",")
)

func benchFloor(b *testing.B, key bool) {
	path := filepath.Join(b.TempDir(), "floor.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, subject TEXT NOT NULL,
		recorded TEXT NOT NULL, body BLOB NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
		CREATE TABLE records (id INTEGER PRIMARY KEY, authority TEXT NOT NULL, case_ref TEXT NOT NULL,
		subject TEXT NOT NULL, UNIQUE (authority, case_ref))`); err != nil {
		b.Fatal(err)
	}
	var n int64
	var cpu time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		rows := storetest.FloorEvents(i*bulkBatch, bulkBatch)
		recorded := time.Now().UTC().Format(time.RFC3339Nano)
		b.StartTimer()
		c := storetest.CPUTime()
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		// 50 rows a statement, as the store's multi-row inserts: fewer
		// calls through database/sql and the driver than one row each.
		ev, err := tx.Prepare(floorEvents)
		if err != nil {
			b.Fatal(err)
		}
		keys, err := tx.Prepare(floorKeys)
		if err != nil {
			b.Fatal(err)
		}
		args := make([]any, 0, floorPer*6)
		for j := 0; j < len(rows); j += floorPer {
			args = args[:0]
			for k, r := range rows[j : j+floorPer] {
				args = append(args, int64(i*bulkBatch+j+k+1), r.Subject, recorded, r.Body, r.Hash, r.Hash)
			}
			if _, err := ev.Exec(args...); err != nil {
				b.Fatal(err)
			}
			if key {
				args = args[:0]
				for k, r := range rows[j : j+floorPer] {
					args = append(args, int64(i*bulkBatch+j+k+1), r.CaseRef, r.Subject)
				}
				if _, err := keys.Exec(args...); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		cpu += storetest.CPUTime() - c
		n += int64(len(rows))
	}
	storetest.ReportRate(b, n)
	reportCPU(b, cpu, n)
}
