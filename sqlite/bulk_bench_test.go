package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"credo"
	"credo/sqlite"
	"credo/storetest"
)

// BenchmarkS06Load loads a fresh registry with BULK_RECORDS records
// (default 200,000) in batches of 10,000: batch after batch, and in bulk
// (StartBulk ... EndBulk, the final move of the staged rows included).
// An op is one whole load; records/s is the load's rate. BULK_RUN_MIB
// sets Options.BulkRunBytes (the bulk load's rows in memory before a run
// file; default 256 MiB, more than this load's), to measure the runs. Compare with
// BenchmarkFloorLogOnly / BenchmarkFloorLogAndKey (the driver alone) in
// the same run:
//
//	go test ./sqlite -run '^$' -bench 'S06Load|Floor' -benchtime 3x
func BenchmarkS06Load(b *testing.B) {
	total := 200_000
	if s := os.Getenv("BULK_RECORDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < bulkBatch {
			b.Fatalf("BULK_RECORDS: %q", s)
		}
		total = n
	}
	var opts sqlite.Options
	if s := os.Getenv("BULK_RUN_MIB"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("BULK_RUN_MIB: %q", s)
		}
		opts.BulkRunBytes = n << 20
	}
	batches := make([][]*credo.Record, 0, total/bulkBatch)
	for i := 0; i+bulkBatch <= total; i += bulkBatch {
		batches = append(batches, storetest.BenchRecords(i, bulkBatch))
	}
	for _, bulk := range []bool{false, true} {
		b.Run(fmt.Sprintf("bulk=%v", bulk), func(b *testing.B) {
			ctx := context.Background()
			var elapsed time.Duration
			var cpu time.Duration
			n := 0
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				db, err := sqlite.OpenOptions(filepath.Join(b.TempDir(), fmt.Sprintf("load-%d.db", i)), opts)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start, c := time.Now(), storetest.CPUTime()
				if bulk {
					if err := db.StartBulk(ctx); err != nil {
						b.Fatal(err)
					}
				}
				for _, rs := range batches {
					if _, err := db.FileRecords(ctx, rs); err != nil {
						b.Fatal(err)
					}
				}
				if bulk {
					if err := db.EndBulk(ctx); err != nil {
						b.Fatal(err)
					}
				}
				elapsed += time.Since(start)
				cpu += storetest.CPUTime() - c
				n += len(batches) * bulkBatch
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n)/elapsed.Seconds(), "records/s")
			reportCPU(b, cpu, int64(n))
		})
	}
}
