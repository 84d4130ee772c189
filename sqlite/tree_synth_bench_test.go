package sqlite_test

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"credo/internal/merkle"
	"credo/sqlite"
	"credo/transparency"
)

// BenchmarkTProofSynthetic measures proofs and checkpoint signing on the
// stored tree of a log of CREDO_BENCH_SYNTH events (e.g. 100000000),
// built synthetically (see synthTree): tree_hashes is complete and real
// (every node of the n-leaf tree at levels >= sqlite.TreeStoredLevel, as
// the writer stores it), the events table holds only the events the
// measured proofs read (a sample of 4096 positions and the events of
// their blocks of 2^TreeStoredLevel, and the last block). Skipped
// unless CREDO_BENCH_SYNTH is set; the file is kept in
// CREDO_BENCH_SYNTH_DIR (default the temporary directory) and reused.
//
//	CREDO_BENCH_SYNTH=100000000 go test ./sqlite -run '^$' -bench TProofSynthetic -benchtime 20000x -count 5
//
// It reports the median time of one operation (median-us) besides the
// mean (ns/op).
func BenchmarkTProofSynthetic(b *testing.B) {
	v := os.Getenv("CREDO_BENCH_SYNTH")
	if v == "" {
		b.Skip("CREDO_BENCH_SYNTH is not set")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 16 {
		b.Fatalf("CREDO_BENCH_SYNTH=%q: want a number of events >= 16", v)
	}
	db, samples := synthTree(b, n)
	level := sqlite.TreeCacheLevel // CREDO_BENCH_CACHE_LEVEL overrides it
	if v := os.Getenv("CREDO_BENCH_CACHE_LEVEL"); v != "" {
		if level, err = strconv.Atoi(v); err != nil {
			b.Fatalf("CREDO_BENCH_CACHE_LEVEL=%q: %v", v, err)
		}
	}
	// With the proof cache (the default: filled lazily from a cold start
	// in each run) and without, in the same run.
	for _, cached := range []bool{true, false} {
		suffix := ""
		if !cached {
			suffix = "NoCache"
		}
		setCache := func() {
			if cached {
				db.SetTreeCache(level, sqlite.TreeCacheMax)
			} else {
				db.SetTreeCache(0, 0)
			}
		}
		b.Run("Inclusion"+suffix, func(b *testing.B) {
			setCache()
			medianOps(b, func(i int) error {
				_, err := transparency.Inclusion(ctx, db, samples[i%len(samples)], n)
				return err
			})
			b.ReportMetric(float64(n), "events")
			b.ReportMetric(float64(db.TreeCacheLen()), "cached-hashes")
		})
	}
	for _, cached := range []bool{true, false} {
		suffix := ""
		if !cached {
			suffix = "NoCache"
		}
		b.Run("Consistency"+suffix, func(b *testing.B) {
			if cached {
				db.SetTreeCache(level, sqlite.TreeCacheMax)
			} else {
				db.SetTreeCache(0, 0)
			}
			medianOps(b, func(i int) error {
				_, err := transparency.Consistency(ctx, db, samples[i%len(samples)], n)
				return err
			})
			b.ReportMetric(float64(n), "events")
			b.ReportMetric(float64(db.TreeCacheLen()), "cached-hashes")
		})
	}
	db.SetTreeCache(sqlite.TreeCacheLevel, sqlite.TreeCacheMax)
	b.Run("CheckpointSign", func(b *testing.B) {
		skey, _, _ := transparency.GenerateKey("bench/log")
		s, _ := note.NewSigner(skey)
		medianOps(b, func(int) error {
			cp, err := transparency.Current(ctx, db, "bench/log")
			if err == nil {
				_, err = transparency.SignCheckpoint(cp, s)
			}
			return err
		})
		b.ReportMetric(float64(n), "events")
	})
}

// medianOps runs op b.N times and reports the median duration.
func medianOps(b *testing.B, op func(i int) error) {
	d := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		if err := op(i); err != nil {
			b.Fatal(err)
		}
		d[i] = time.Since(t)
	}
	b.StopTimer()
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds())/1e3, "median-us")
}

// synthBodySize is the size of a synthetic event's body: about an
// event's in a generated city (the events table's bytes per event), so
// that reading the bodies a proof hashes costs what it does in a real
// log.
const synthBodySize = 500

// synthBody is the body of synthetic event seq.
func synthBody(dst []byte, seq int64) []byte {
	dst = strconv.AppendInt(append(dst[:0], "synthetic event "...), seq, 10)
	for len(dst) < synthBodySize {
		dst = append(dst, '.')
	}
	return dst
}

// synthHash is the (stand-in) hash of synthetic event seq: 32 bytes, as
// the hash columns hold.
func synthHash(seq int64) []byte {
	h := sha256.Sum256(synthBody(nil, seq))
	return h[:]
}

// synthTree builds (or reuses) a store holding the tree of a log of n
// synthetic events: leaf i is the hash of synthBody(i+1), its stored
// hashes are computed by the writer's own merkle.Tree and written to
// tree_hashes in one transaction, so the table is exactly the one n
// appended events would leave. Only the events a proof at the returned
// sample positions reads (the block of 2^TreeStoredLevel events of each
// sample, its neighbours, and the last block) are written to events;
// Head reports n.
func synthTree(b *testing.B, n int64) (*sqlite.DB, []int64) {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	samples := make([]int64, 4096)
	for i := range samples {
		samples[i] = 1 + rng.Int64N(n)
	}
	dir := os.Getenv("CREDO_BENCH_SYNTH_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("credo-synth-tree-%d-l%d-b%d.db", n, sqlite.TreeStoredLevel, synthBodySize))
	if _, err := os.Stat(path + ".done"); err != nil {
		os.Remove(path)
		os.Remove(path + "-wal")
		os.Remove(path + "-shm")
		start := time.Now()
		buildSynth(b, path, n, samples)
		if err := os.WriteFile(path+".done", nil, 0o644); err != nil {
			b.Fatal(err)
		}
		b.Logf("built the synthetic tree of %d events in %v", n, time.Since(start).Round(time.Second))
	}
	db, err := sqlite.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if head, _, _ := db.Head(ctx); head != n {
		b.Fatalf("head %d, want %d", head, n)
	}
	return db, samples
}

func buildSynth(b *testing.B, path string, n int64, samples []int64) {
	db, err := sqlite.Open(path) // the schema
	if err != nil {
		b.Fatal(err)
	}
	db.Close()
	raw := openRaw(b, path)
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	for _, q := range []string{"PRAGMA synchronous = OFF", "PRAGMA cache_size = -262144", "BEGIN"} {
		if _, err := raw.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	const rows = 256
	ins, err := raw.Prepare("INSERT INTO tree_hashes (idx, hash) VALUES (?,?)" + strings.Repeat(",(?,?)", rows-1))
	if err != nil {
		b.Fatal(err)
	}
	args := make([]any, 0, 2*rows)
	hashes := make([]byte, 0, 32*rows) // backing store of the queued hashes
	var tree merkle.Tree
	var body []byte
	for i := int64(0); i < n; i++ {
		body = synthBody(body, i+1)
		first, hs, err := tree.Add(i, body)
		if err != nil {
			b.Fatal(err)
		}
		for l := sqlite.TreeStoredLevel; l < len(hs); l++ {
			start := len(hashes)
			hashes = append(hashes, hs[l][:]...)
			args = append(args, first+int64(l), hashes[start:len(hashes):len(hashes)])
			if len(args) == cap(args) {
				if _, err := ins.Exec(args...); err != nil {
					b.Fatal(err)
				}
				args, hashes = args[:0], hashes[:0]
			}
		}
	}
	for j := 0; j < len(args); j += 2 {
		if _, err := raw.Exec("INSERT INTO tree_hashes (idx, hash) VALUES (?, ?)", args[j], args[j+1]); err != nil {
			b.Fatal(err)
		}
	}
	ins.Close()
	block := int64(1) << sqlite.TreeStoredLevel
	var evs []int64
	for _, s := range append(samples, n) {
		lo := (s - 1) &^ (block - 1) // the first of s's block, less one
		for e := lo; e <= lo+block+1; e++ {
			evs = append(evs, e)
		}
	}
	for _, s := range evs {
		if s < 1 || s > n {
			continue
		}
		if _, err := raw.Exec(`INSERT OR IGNORE INTO events (seq, type, subject, recorded, body, prev_hash, hash)
			VALUES (?, 'synthetic', '', 0, ?, X'', ?)`, s, synthBody(nil, s), synthHash(s)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := raw.Exec("INSERT OR REPLACE INTO head (id, seq, hash) VALUES (1, ?, ?)", n, synthHash(n)); err != nil {
		b.Fatal(err)
	}
	if _, err := raw.Exec("COMMIT"); err != nil {
		b.Fatal(err)
	}
}
