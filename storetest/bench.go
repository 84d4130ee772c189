package storetest

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"credo"
)

// The benchmark helpers below are shared by the stores' ingest benchmarks;
// each store reports the figures under its own metric names.

// BenchRecords returns n distinct records of court.beijing starting at
// from, as NewRecord makes them.
func BenchRecords(from, n int) []*credo.Record {
	rs := make([]*credo.Record, n)
	for i := range rs {
		rs[i] = NewRecord("court.beijing", from+i, from+i)
	}
	return rs
}

// ReportRate reports n records over the benchmark's time as records/s.
func ReportRate(b *testing.B, n int64) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchFileBatches files batches of batch records, BenchRecords from
// from(i) in op i, one FileRecords call an op (the records are made with
// the timer stopped), and fails unless each batch is created (created
// true) or was already stored (created false). It returns the records
// filed and the CPU time (user and system, all threads of this process)
// spent in the calls.
func BenchFileBatches(b *testing.B, s credo.Store, batch int, from func(i int) int, created bool) (n int64, cpu time.Duration) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		rs := BenchRecords(from(i), batch)
		b.StartTimer()
		c := CPUTime()
		res, err := s.FileRecords(context.Background(), rs)
		if err != nil {
			b.Fatal(err)
		}
		cpu += CPUTime() - c
		if res[len(res)-1].Created != created || res[0].Created != created {
			b.Fatalf("batch %d: created %v, want %v", i, res[0].Created, created)
		}
		n += int64(len(rs))
	}
	return n, cpu
}

// Filer is a store that files one record per call.
type Filer interface {
	FileRecord(ctx context.Context, r *credo.Record) (credo.FileResult, error)
}

// BenchFileConcurrent files one new record per call from parallelism
// goroutines per GOMAXPROCS (testing.B.SetParallelism); an op is one
// record. It returns the records filed.
func BenchFileConcurrent(b *testing.B, s Filer, parallelism int) int64 {
	var next atomic.Int64
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := int(next.Add(1))
			res, err := s.FileRecord(context.Background(), NewRecord("court.beijing", n, n))
			if err != nil {
				b.Error(err)
				return
			}
			if !res.Created {
				b.Error("not created")
				return
			}
		}
	})
	return next.Load()
}
