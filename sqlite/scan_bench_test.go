package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"credo"
	"credo/sqlite"
	"credo/storetest"
)

// BenchmarkScanFacts reads the whole facts projection in subject order, as
// the decision table's rebuild, the census and the simulation do (without
// their evaluation): 200,000 records of 50,000 subjects; an op is one
// scan. floor=rows is the driver alone on the same rows.
//
//	go test ./sqlite -run '^$' -bench ScanFacts -count 5
func BenchmarkScanFacts(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "scan.db")
	db, err := sqlite.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const records, subjects = 200000, 50000
	for i := 0; i < records; i += 10000 {
		var rs []*credo.Record
		for j := i; j < i+10000; j++ {
			rs = append(rs, storetest.NewRecord("court.beijing", j, j%subjects))
		}
		if _, err := db.FileRecords(ctx, rs); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("floor=rows", func(b *testing.B) {
		// The driver alone: the same rows stepped through and scanned into
		// borrowed bytes, nothing decoded (the floor of any scan of a
		// projection with a row a fact).
		raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			b.Fatal(err)
		}
		defer raw.Close()
		b.ReportAllocs()
		for b.Loop() {
			rows, err := raw.Query("SELECT subject, seq, body FROM facts ORDER BY subject, seq")
			if err != nil {
				b.Fatal(err)
			}
			var s, body sql.RawBytes
			var seq int64
			n := 0
			for rows.Next() {
				if err := rows.Scan(&s, &seq, &body); err != nil {
					b.Fatal(err)
				}
				n++
			}
			rows.Close()
			if n != records {
				b.Fatalf("%d rows, want %d", n, records)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/records, "ns/fact")
	})
	b.Run("scan", func(b *testing.B) { benchScan(b, db, records, subjects) })
}

func benchScan(b *testing.B, db *sqlite.DB, records, subjects int) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		n, s := 0, 0
		if err := db.ScanFacts(ctx, "", "", func(subject string, evs []credo.Event) error {
			n += len(evs)
			s++
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if n != records || s != subjects {
			b.Fatalf("%d facts of %d subjects, want %d of %d", n, s, records, subjects)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/float64(records), "ns/fact")
}
