package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"credo/sqlite"
	"credo/storetest"
	"credo/transparency"
)

// BenchmarkTAppendTree files batches of 10,000 records with the Merkle
// tree kept (Tree) and without it (NoTree), in the same run: the tree's
// cost on bulk filing. It also reports the bytes the tree takes per event.
//
//	go test ./sqlite -run '^$' -bench TAppendTree -benchtime 30x -count 5
func BenchmarkTAppendTree(b *testing.B) {
	for _, c := range []struct {
		name string
		opts sqlite.Options
	}{{"Tree", sqlite.Options{}}, {"NoTree", sqlite.Options{NoTree: true}}} {
		b.Run(c.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			db, err := sqlite.OpenOptions(path, c.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			n, cpu := storetest.BenchFileBatches(b, db, bulkBatch, func(i int) int { return i * bulkBatch }, true)
			storetest.ReportRate(b, n)
			reportCPU(b, cpu, n)
			if c.name == "Tree" {
				b.ReportMetric(treeBytes(b, db, path), "tree-B/event")
			}
		})
	}
}

// BenchmarkTAppendSingle: concurrent single-record calls (group commit)
// with and without the tree.
func BenchmarkTAppendSingle(b *testing.B) {
	for _, c := range []struct {
		name string
		opts sqlite.Options
	}{{"Tree", sqlite.Options{}}, {"NoTree", sqlite.Options{NoTree: true}}} {
		b.Run(c.name, func(b *testing.B) {
			db, err := sqlite.OpenOptions(filepath.Join(b.TempDir(), "bench.db"), c.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			n := storetest.BenchFileConcurrent(b, db, 64)
			storetest.ReportRate(b, n)
		})
	}
}

// treeBytes is the size of the tree_hashes table per event (dbstat).
func treeBytes(b *testing.B, db *sqlite.DB, path string) float64 {
	head, _, _ := db.Head(context.Background())
	raw := openRaw(b, path)
	defer raw.Close()
	var bytes int64
	if err := raw.QueryRow("SELECT SUM(pgsize) FROM dbstat WHERE name = 'tree_hashes'").Scan(&bytes); err != nil {
		b.Logf("dbstat: %v", err)
		return 0
	}
	return float64(bytes) / float64(max(head, 1))
}

// BenchmarkTInclusionProof generates inclusion proofs (and the tree
// root) from the stored tree of a log of CREDO_BENCH_TREE events
// (default 1,000,000), for random events.
func BenchmarkTInclusionProof(b *testing.B) {
	db, size := bigTree(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		seq := 1 + int64(uint64(i)*2654435761%uint64(size))
		if _, err := transparency.Inclusion(ctx, db, seq, size); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "events")
}

// BenchmarkTConsistencyProof: consistency proofs between random sizes.
func BenchmarkTConsistencyProof(b *testing.B) {
	db, size := bigTree(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		old := 1 + int64(uint64(i)*2654435761%uint64(size))
		if _, err := transparency.Consistency(ctx, db, old, size); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "events")
}

// BenchmarkTCheckpointSign: a checkpoint of the whole log computed from
// the stored tree and signed (Ed25519 signed note).
func BenchmarkTCheckpointSign(b *testing.B) {
	db, size := bigTree(b)
	skey, _, _ := transparency.GenerateKey("bench/log")
	s, _ := note.NewSigner(skey)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cp, err := transparency.Current(ctx, db, "bench/log")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := transparency.SignCheckpoint(cp, s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "events")
}

var bigDB = map[string]*sqlite.DB{}

func bigTree(b *testing.B) (*sqlite.DB, int64) {
	n := 1_000_000
	if v := os.Getenv("CREDO_BENCH_TREE"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	key := strconv.Itoa(n)
	if db := bigDB[key]; db != nil {
		head, _, _ := db.Head(ctx)
		return db, head
	}
	dir, err := os.MkdirTemp("", "credo-tree-bench")
	if err != nil {
		b.Fatal(err)
	}
	db, err := sqlite.Open(filepath.Join(dir, "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i += bulkBatch {
		if _, err := db.FileRecords(ctx, storetest.BenchRecords(i, min(bulkBatch, n-i))); err != nil {
			b.Fatal(err)
		}
	}
	bigDB[key] = db
	head, _, _ := db.Head(ctx)
	return db, head
}

func openRaw(b testing.TB, path string) *sql.DB {
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkTAppendTreePaired files the same batches of 10,000 records
// into a store keeping the tree and one without it (Options.NoTree),
// alternating batch by batch (and which store goes first), so both see
// the same machine load. It reports the median CPU time (all threads of
// the process, in the call) and wall time per record of each, and their
// ratios (tree/notree): the tree's overhead on bulk filing.
//
//	go test ./sqlite -run '^$' -bench TAppendTreePaired -benchtime 40x
func BenchmarkTAppendTreePaired(b *testing.B) {
	var dbs [2]*sqlite.DB
	for i, opts := range []sqlite.Options{{}, {NoTree: true}} {
		db, err := sqlite.OpenOptions(filepath.Join(b.TempDir(), "bench.db"), opts)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	var cpu, wall [2][]time.Duration
	for i := 0; b.Loop(); i++ {
		for k := range 2 {
			j := (i + k) % 2
			b.StopTimer()
			rs := storetest.BenchRecords(i*bulkBatch, bulkBatch)
			b.StartTimer()
			c, t := storetest.CPUTime(), time.Now()
			if _, err := dbs[j].FileRecords(ctx, rs); err != nil {
				b.Fatal(err)
			}
			wall[j] = append(wall[j], time.Since(t))
			cpu[j] = append(cpu[j], storetest.CPUTime()-c)
		}
	}
	med := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Nanoseconds()) / bulkBatch
	}
	ct, cn, wt, wn := med(cpu[0]), med(cpu[1]), med(wall[0]), med(wall[1])
	b.ReportMetric(ct, "tree-cpu-ns/rec")
	b.ReportMetric(cn, "notree-cpu-ns/rec")
	b.ReportMetric(ct/cn, "cpu-ratio")
	b.ReportMetric(wt, "tree-wall-ns/rec")
	b.ReportMetric(wn, "notree-wall-ns/rec")
	b.ReportMetric(wt/wn, "wall-ratio")
}
