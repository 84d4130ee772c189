package sqlite_test

import (
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"credo/internal/merkle"
	"credo/transparency"
)

// TestTProofCache: proofs served through the proof cache (the upper
// levels of the tree kept in memory, filled on read) are the proofs read
// from the database alone, verify with the upstream tlog.CheckRecord and
// tlog.CheckTree, stay right as the log grows behind a filled cache, and
// the cache keeps to its bound. CheckExtends and VerifyExtends read what
// is stored, not the cache: a stored hash rewritten behind the open
// store's back is still found.
func TestTProofCache(t *testing.T) {
	db, path := openDB(t)
	const max = 200
	db.SetTreeCache(2, max) // levels >= 2: nodes over 4 events and more
	bodies := map[int64][]byte{}
	check := func(size int64) {
		t.Helper()
		if err := db.EventBodies(ctx, int64(len(bodies)), size, func(seq int64, body []byte) error {
			bodies[seq] = slices.Clone(body)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		cp, err := transparency.Current(ctx, db, "o")
		if err != nil || cp.Size != size {
			t.Fatalf("Current = %+v, %v; want size %d", cp, err, size)
		}
		unc := merkle.Uncached(ctx)
		want, err := tlog.TreeHash(size, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return db.TreeHashes(unc, idx) }))
		if err != nil || want != cp.Root {
			t.Fatalf("root through the cache %x, from the database %x (%v)", cp.Root, want, err)
		}
		for seq := int64(1); seq <= size; seq += 7 {
			for pass := 0; pass < 2; pass++ { // the second from a warmer cache
				got, err := transparency.Inclusion(ctx, db, seq, size)
				if err != nil {
					t.Fatal(err)
				}
				ref, err := transparency.Inclusion(unc, db, seq, size)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, ref) {
					t.Fatalf("inclusion of %d in %d: cached proof differs from the database's", seq, size)
				}
				if err := tlog.CheckRecord(got, size, cp.Root, seq-1, tlog.RecordHash(bodies[seq])); err != nil {
					t.Fatalf("inclusion of %d in %d: tlog.CheckRecord: %v", seq, size, err)
				}
			}
			old := seq
			gotT, err := transparency.Consistency(ctx, db, old, size)
			if err != nil {
				t.Fatal(err)
			}
			refT, err := transparency.Consistency(unc, db, old, size)
			if err != nil {
				t.Fatal(err)
			}
			oldRoot, err := transparency.Root(unc, db, old)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(gotT, refT) {
				t.Fatalf("consistency %d..%d: cached proof differs from the database's", old, size)
			}
			if err := tlog.CheckTree(gotT, size, cp.Root, old, oldRoot); err != nil {
				t.Fatalf("consistency %d..%d: tlog.CheckTree: %v", old, size, err)
			}
		}
		if n := db.TreeCacheLen(); n == 0 || n > max {
			t.Fatalf("the cache holds %d hashes, want 1..%d", n, max)
		}
	}
	fileN(t, db, 0, 300)
	check(300)
	fileN(t, db, 300, 333) // the log grows behind the filled cache
	check(633)
	if n := db.TreeCacheLen(); n != max {
		t.Fatalf("the cache holds %d hashes, want it full at %d", n, max)
	}

	// Proofs read concurrently with appends (run with -race): each
	// verifies against the root read from the database alone. A fresh
	// cache, filled by the readers concurrently.
	db.SetTreeCache(2, 1<<20)
	done := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for i := int64(1); i <= 60; i++ {
				size := int64(573) + i // <= 633, the log before these appends
				seq := 1 + (i*97+int64(g)*31)%size
				p, err := transparency.Inclusion(ctx, db, seq, size)
				if err == nil {
					var root tlog.Hash
					if root, err = transparency.Root(merkle.Uncached(ctx), db, size); err == nil {
						err = tlog.CheckRecord(p, size, root, seq-1, tlog.RecordHash(bodies[seq]))
					}
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	fileN(t, db, 633, 40)
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}

	// A cached upper node rewritten in the database: the cached proofs do
	// not see it, CheckExtends and VerifyExtends must.
	cp, err := transparency.Current(ctx, db, "o")
	if err != nil {
		t.Fatal(err)
	}
	top := tlog.StoredHashIndex(9, 0) // over events 1..512, cached by now
	raw := rawDB(t, path)
	mustExec(t, raw, "UPDATE tree_hashes SET hash = zeroblob(32) WHERE idx = ?", top)
	raw.Close()
	if got, _ := transparency.Current(ctx, db, "o"); got != cp {
		t.Fatalf("the cache did not serve the node: the test does not test the bypass")
	}
	if _, ok := transparency.IsDivergence(transparency.CheckExtends(ctx, db, cp)); !ok {
		t.Fatal("CheckExtends did not see the rewritten stored hash")
	}
	if res, _ := transparency.VerifyExtends(ctx, db, &cp); res.TreeOK {
		t.Fatalf("VerifyExtends did not see the rewritten stored hash: %+v", res)
	}
}
