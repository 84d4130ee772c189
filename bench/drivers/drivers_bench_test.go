// Package drivers compares the two cgo-free SQLite drivers for Go on the
// workload of credo's floor benchmarks (sqlite/floor_bench_test.go) and on
// a point read. It is a nested module so that the product's go.mod does
// not carry the driver it does not use; see README.md.
package drivers

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/ncruces/go-sqlite3/driver" // registers "sqlite3"
	_ "modernc.org/sqlite"                   // registers "sqlite"
)

// drivers are the two contenders, by database/sql name.
var drivers = []struct{ name, driver string }{
	{"modernc", "sqlite"},
	{"ncruces", "sqlite3"},
}

// dsn is the product's DSN (sqlite.dsn): a file: URI with one _pragma
// parameter a pragma, which both drivers understand.
func dsn(path string, pragmas ...string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// The floor workload, copied from credo's sqlite/floor_bench_test.go and
// storetest/floor.go: batches of 10,000 rows of 585-byte record.filed
// bodies, made before the timer starts, 50 rows a prepared statement, one
// transaction a batch, WAL and synchronous=FULL.
const (
	bulkBatch = 10000
	floorPer  = 50
	bodySize  = 585
)

var (
	floorEvents = "INSERT INTO events VALUES " + strings.TrimSuffix(strings.Repeat("(?, 'record.filed', ?, ?, ?, ?, ?),", floorPer), ",")
	floorKeys   = "INSERT INTO records VALUES " + strings.TrimSuffix(strings.Repeat("(?, 'court.beijing', ?, ?),", floorPer), ",")
	schema      = `CREATE TABLE events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, subject TEXT NOT NULL,
		recorded TEXT NOT NULL, body BLOB NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
		CREATE TABLE records (id INTEGER PRIMARY KEY, authority TEXT NOT NULL, case_ref TEXT NOT NULL,
		subject TEXT NOT NULL, UNIQUE (authority, case_ref))`
)

type floorEvent struct {
	Subject, CaseRef, Hash string
	Body                   []byte
}

const floorShape = `{"seq":0000000,"subject":"110105199003074578","case_ref":"(2024)京0101民初0000000号","pad":""}`

func caseRef(k int) string { return fmt.Sprintf("(2024)京0101民初%07d号", k) }

func floorRows(from, n int) []floorEvent {
	pad := strings.Repeat("x", bodySize-len(floorShape))
	evs := make([]floorEvent, n)
	for i := range evs {
		k := from + i
		e := &evs[i]
		e.Subject = fmt.Sprintf("1101051990%08d", k)
		e.CaseRef = caseRef(k)
		e.Body = fmt.Appendf(nil, `{"seq":%07d,"subject":"%s","case_ref":"%s","pad":"%s"}`, k, e.Subject, e.CaseRef, pad)
		h := sha256.Sum256(e.Body)
		e.Hash = hex.EncodeToString(h[:])
	}
	return evs
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// insertBatch writes rows from..from+len(rows)-1 in one transaction.
func insertBatch(db *sql.DB, from int, rows []floorEvent, key bool) error {
	recorded := time.Now().UTC().Format(time.RFC3339Nano)
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ev, err := tx.Prepare(floorEvents)
	if err != nil {
		return err
	}
	keys, err := tx.Prepare(floorKeys)
	if err != nil {
		return err
	}
	args := make([]any, 0, floorPer*6)
	for j := 0; j < len(rows); j += floorPer {
		args = args[:0]
		for k, r := range rows[j : j+floorPer] {
			args = append(args, int64(from+j+k+1), r.Subject, recorded, r.Body, r.Hash, r.Hash)
		}
		if _, err := ev.Exec(args...); err != nil {
			return err
		}
		if key {
			args = args[:0]
			for k, r := range rows[j : j+floorPer] {
				args = append(args, int64(from+j+k+1), r.CaseRef, r.Subject)
			}
			if _, err := keys.Exec(args...); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// BenchmarkFloorLogOnly is credo's BenchmarkFloorLogOnly on each driver:
// event rows only. An op is one batch of 10,000.
func BenchmarkFloorLogOnly(b *testing.B) { benchFloor(b, false) }

// BenchmarkFloorLogAndKey is credo's BenchmarkFloorLogAndKey on each
// driver: event rows and, in the same transaction, one row per record
// into the table with the unique (authority, case_ref) key.
func BenchmarkFloorLogAndKey(b *testing.B) { benchFloor(b, true) }

func benchFloor(b *testing.B, key bool) {
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "floor.db")
			db, err := sql.Open(d.driver, dsn(path, "busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			if _, err := db.Exec(schema); err != nil {
				b.Fatal(err)
			}
			// Both drivers must run with the store's settings, or the
			// comparison is void.
			var mode string
			var sync int
			if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
				b.Fatal(err)
			}
			if err := db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
				b.Fatal(err)
			}
			if mode != "wal" || sync != 2 {
				b.Fatalf("journal_mode %q synchronous %d, want wal and 2 (FULL)", mode, sync)
			}
			var n int64
			var cpu time.Duration
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				rows := floorRows(i*bulkBatch, bulkBatch)
				b.StartTimer()
				c := cpuTime()
				if err := insertBatch(db, i*bulkBatch, rows, key); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - c
				n += int64(len(rows))
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/record")
		})
	}
}

// readRows is the size of the point-read benchmark's table.
const readRows = 200000

var (
	readOnce sync.Once
	readPath string
	readErr  error
)

// readDB makes, once per process, one database of readRows floor rows
// with their keys (written by modernc; the file format is SQLite's, the
// same for both), so that both drivers read the same file.
func readDB(b *testing.B) string {
	readOnce.Do(func() {
		dir, err := os.MkdirTemp("", "drivers-read")
		if err != nil {
			readErr = err
			return
		}
		readPath = filepath.Join(dir, "read.db")
		db, err := sql.Open("sqlite", dsn(readPath, "journal_mode(WAL)", "synchronous(OFF)"))
		if err != nil {
			readErr = err
			return
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		if _, readErr = db.Exec(schema); readErr != nil {
			return
		}
		for from := 0; from < readRows; from += bulkBatch {
			if readErr = insertBatch(db, from, floorRows(from, bulkBatch), true); readErr != nil {
				return
			}
		}
		_, readErr = db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	})
	if readErr != nil {
		b.Fatal(readErr)
	}
	return readPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if readPath != "" {
		os.RemoveAll(filepath.Dir(readPath))
	}
	os.Exit(code)
}

// BenchmarkPointRead reads one record by its unique key: the event body
// found through (authority, case_ref), one prepared statement, one
// connection, keys spread over the table. An op is one read.
func BenchmarkPointRead(b *testing.B) {
	path := readDB(b)
	for _, d := range drivers {
		b.Run(d.name, func(b *testing.B) {
			db, err := sql.Open(d.driver, dsn(path, "busy_timeout(10000)", "query_only(1)"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			st, err := db.Prepare(`SELECT e.subject, e.body FROM records r JOIN events e ON e.seq = r.id
				WHERE r.authority = 'court.beijing' AND r.case_ref = ?`)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			keys := make([]string, 4096)
			for i := range keys {
				keys[i] = caseRef((i * 7919) % readRows)
			}
			var subject string
			var body []byte
			b.ReportAllocs()
			c := cpuTime()
			for i := 0; b.Loop(); i++ {
				if err := st.QueryRow(keys[i%len(keys)]).Scan(&subject, &body); err != nil {
					b.Fatal(err)
				}
				if len(body) != bodySize {
					b.Fatalf("body of %d bytes, want %d", len(body), bodySize)
				}
			}
			b.ReportMetric(float64((cpuTime()-c).Nanoseconds())/float64(b.N), "cpu-ns/read")
		})
	}
}
