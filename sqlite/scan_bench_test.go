package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"credo"
	"credo/sqlite"
	"credo/storetest"
)

// BenchmarkScanFacts reads the whole facts projection in subject order, as
// the decision table's rebuild, the census and the simulation do (without
// their evaluation): 200,000 records of 50,000 subjects; an op is one
// scan.
//
//	go test ./sqlite -run '^$' -bench ScanFacts -count 5
func BenchmarkScanFacts(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "scan.db"))
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
	b.ReportAllocs()
	b.ResetTimer()
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
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/records, "ns/fact")
}
