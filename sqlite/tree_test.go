package sqlite_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"credo/internal/merkle"
	"credo/sqlite"
	"credo/transparency"
)

func reopen(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestTTreeBuiltOnOpen: a log written before the tree existed (or whose
// tree lost its tail) gets its tree built when the store opens, equal to
// the tree kept incrementally.
func TestTTreeBuiltOnOpen(t *testing.T) {
	db, path := openDB(t)
	fileN(t, db, 0, 300)
	want, err := transparency.Current(ctx, db, "o")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, q := range []string{"DELETE FROM tree_hashes", "DELETE FROM tree_hashes WHERE idx > 200"} {
		raw := rawDB(t, path)
		mustExec(t, raw, q)
		raw.Close()
		db = reopen(t, path)
		got, err := transparency.Current(ctx, db, "o")
		if err != nil || got != want {
			t.Fatalf("after %q: tree %+v, %v; want %+v", q, got, err, want)
		}
		vr, err := transparency.VerifyExtends(ctx, db, &want)
		if err != nil || !vr.TreeOK {
			t.Fatalf("after %q: VerifyExtends = %+v, %v", q, vr, err)
		}
		db.Close()
	}
}

// TestTInsiderAttack: an insider with write access to the file deletes
// the last event and rewrites the recorded head. The hash chain cannot
// tell (Verify answers ok), but the log no longer extends a checkpoint
// signed before: CheckExtends and VerifyExtends report the truncation at
// the first missing position; and a log forked after the truncation is
// reported as rewritten.
func TestTInsiderAttack(t *testing.T) {
	db, path := openDB(t)
	fileN(t, db, 0, 30)
	cp, err := transparency.Current(ctx, db, "o")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw := rawDB(t, path)
	mustExec(t, raw, "DROP TRIGGER events_no_delete")
	mustExec(t, raw, "DELETE FROM events WHERE seq = 30")
	mustExec(t, raw, "DELETE FROM records WHERE id = 30")
	mustExec(t, raw, "DELETE FROM subject_events WHERE seq = 30")
	mustExec(t, raw, "UPDATE head SET seq = 29, hash = (SELECT hash FROM events WHERE seq = 29)")
	mustExec(t, raw, "DELETE FROM tree_hashes WHERE idx >= ?", 30+15+7+3+1) // tlog.StoredHashIndex(0, 29)
	raw.Close()
	db = reopen(t, path)
	if res, err := db.Verify(ctx); err != nil || !res.OK {
		t.Fatalf("the hash chain alone should not see it: Verify = %+v, %v", res, err)
	}
	d, ok := transparency.IsDivergence(transparency.CheckExtends(ctx, db, cp))
	if !ok || d.Kind != "truncated" || d.Position != 30 {
		t.Fatalf("CheckExtends = %+v", d)
	}
	_, err = transparency.VerifyExtends(ctx, db, &cp)
	if d, ok := transparency.IsDivergence(err); !ok || d.Kind != "truncated" || d.Position != 30 {
		t.Fatalf("VerifyExtends = %v", err)
	}
	// The insider then appends other events in their place: a fork.
	fileN(t, db, 100, 5)
	d, ok = transparency.IsDivergence(transparency.CheckExtends(ctx, db, cp))
	if !ok || d.Kind != "rewritten" {
		t.Fatalf("CheckExtends after the fork = %+v", d)
	}
	if _, err := transparency.VerifyExtends(ctx, db, &cp); err == nil {
		t.Fatal("VerifyExtends after the fork: no error")
	}
}

// TestTRewrittenBody: an event's body rewritten behind the store's back
// (its hash column too, and the chain after it) is found at its position
// by VerifyExtends, which rebuilds the tree from the bodies.
func TestTRewrittenBody(t *testing.T) {
	db, path := openDB(t)
	fileN(t, db, 0, 40)
	cp, err := transparency.Current(ctx, db, "o")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw := rawDB(t, path)
	mustExec(t, raw, "DROP TRIGGER events_no_update")
	mustExec(t, raw, "UPDATE events SET body = CAST(replace(CAST(body AS TEXT), 'JUDGMENT_DEFAULT', 'JUDGMENT_DEFAULX') AS BLOB) WHERE seq = 17")
	raw.Close()
	db = reopen(t, path)
	// The stored tree still matches the checkpoint: only the bodies tell.
	if err := transparency.CheckExtends(ctx, db, cp); err != nil {
		t.Fatalf("CheckExtends (stored tree) = %v", err)
	}
	vr, err := transparency.VerifyExtends(ctx, db, &cp)
	d, ok := transparency.IsDivergence(err)
	if !ok || d.Position != 17 || vr.TreeOK || vr.FirstBadLeaf != 17 {
		t.Fatalf("VerifyExtends = %+v, %v", vr, err)
	}
}

// fullTree is the whole tree of a log held in memory, every stored hash
// of every level (leaves included), computed with tlog.StoredHashes from
// the event bodies: the reference the store's proofs and roots are held
// to.
type fullTree struct{ hashes []tlog.Hash } // by stored-hash index

func (f *fullTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if idx >= int64(len(f.hashes)) {
			return nil, fmt.Errorf("reference tree: no hash %d", idx)
		}
		out[i] = f.hashes[idx]
	}
	return out, nil
}

func (f *fullTree) size() int64 {
	n := int64(0)
	for merkle.FirstIndex(n) < int64(len(f.hashes)) {
		n++
	}
	return n
}

// catchUp adds the events of db the reference does not have yet.
func (f *fullTree) catchUp(t *testing.T, db *sqlite.DB) int64 {
	t.Helper()
	n := f.size()
	head, _, err := db.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.EventBodies(ctx, n, head, func(seq int64, body []byte) error {
		hs, err := tlog.StoredHashes(seq-1, body, f)
		f.hashes = append(f.hashes, hs...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return head
}

// checkAgainst checks every root, inclusion and consistency proof of the
// log of size events against the reference, read from the database
// alone and through a proof cache of every level.
func checkAgainst(t *testing.T, db *sqlite.DB, ref *fullTree, size int64) {
	t.Helper()
	db.SetTreeCache(1, 1<<20)
	defer db.SetTreeCache(sqlite.TreeCacheLevel, sqlite.TreeCacheMax)
	for _, c := range []context.Context{merkle.Uncached(ctx), ctx, ctx} { // the second from a filled cache
		for s := int64(1); s <= size; s++ {
			want, err := tlog.TreeHash(s, ref)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := transparency.Root(c, db, s); err != nil || got != want {
				t.Fatalf("log of %d, root of %d: %x, %v; want %x", size, s, got, err, want)
			}
		}
		for n := int64(1); n <= size; n++ {
			want, err := tlog.ProveRecord(size, n-1, ref)
			if err != nil {
				t.Fatal(err)
			}
			got, err := transparency.Inclusion(c, db, n, size)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("inclusion of %d in %d: %v, %v; want %v", n, size, got, err, want)
			}
			wantT, err := tlog.ProveTree(size, n, ref)
			if err != nil {
				t.Fatal(err)
			}
			gotT, err := transparency.Consistency(c, db, n, size)
			if err != nil || !slices.Equal(gotT, wantT) {
				t.Fatalf("consistency %d..%d: %v, %v; want %v", n, size, gotT, err, wantT)
			}
		}
	}
	if vr, err := transparency.VerifyExtends(ctx, db, nil); err != nil || !vr.TreeOK || vr.Head != size {
		t.Fatalf("log of %d: VerifyExtends = %+v, %v", size, vr, err)
	}
}

// checkHashes checks TreeHashes for every stored-hash index of the log of
// size events (every level, leaves included) against the reference: all
// in one call (more nodes and ranges of events than one statement reads),
// and in small scattered sets (several ranges of events in one
// statement).
func checkHashes(t *testing.T, db *sqlite.DB, ref *fullTree, size int64) {
	t.Helper()
	c := merkle.Uncached(ctx)
	all := make([]int64, merkle.FirstIndex(size))
	for i := range all {
		all[i] = int64(len(all) - 1 - i) // in reverse order
	}
	sets := [][]int64{all}
	for i := range all {
		var set []int64
		for j := 0; j < 7; j++ {
			set = append(set, all[(i+j*37)%len(all)])
		}
		sets = append(sets, set)
	}
	for _, set := range sets {
		got, err := db.TreeHashes(c, set)
		if err != nil {
			t.Fatalf("log of %d: TreeHashes(%v): %v", size, set, err)
		}
		want, _ := ref.ReadHashes(set)
		if !slices.Equal(got, want) {
			t.Fatalf("log of %d: TreeHashes(%v) = %v, want %v", size, set, got, want)
		}
	}
}

// storedLevels returns the number of rows of tree_hashes at each level.
func storedLevels(t *testing.T, path string) map[int]int64 {
	t.Helper()
	raw := rawDB(t, path)
	defer raw.Close()
	rows, err := raw.Query("SELECT idx FROM tree_hashes")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var idx int64
		if err := rows.Scan(&idx); err != nil {
			t.Fatal(err)
		}
		level, _ := tlog.SplitStoredHashIndex(idx)
		out[level]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantLevels is the rows a log of n events keeps at each level: the
// nodes of levels >= TreeStoredLevel, plus, for a log first written with
// every interior node stored (legacy events), those below for its first
// legacy events.
func wantLevels(n, legacy int64) map[int]int64 {
	out := map[int]int64{}
	for l := 1; n>>uint(l) > 0; l++ {
		switch {
		case l >= sqlite.TreeStoredLevel:
			out[l] = n >> uint(l)
		case legacy>>uint(l) > 0:
			out[l] = legacy >> uint(l)
		}
	}
	return out
}

// TestTTreeStoredLevels: the store keeps only the nodes of levels >=
// sqlite.TreeStoredLevel (one per 2^TreeStoredLevel events at that
// level) and computes the lower ones from the event bodies; every root,
// inclusion and consistency proof is the full tree's (computed
// independently with tlog.StoredHashes) for logs of every size up to 70
// and around powers of two, before and after the store is opened again.
func TestTTreeStoredLevels(t *testing.T) {
	db, path := openDB(t)
	var ref fullTree
	k := int64(1) << sqlite.TreeStoredLevel
	sizes := []int64{1, 2, 3, k - 1, k, k + 1, 2*k - 1, 2 * k, 2*k + 1, 33, 64, 65, 70}
	filed := int64(0)
	for _, size := range sizes {
		fileN(t, db, int(filed), int(size-filed))
		filed = size
		ref.catchUp(t, db)
		checkAgainst(t, db, &ref, size)
		if got, want := storedLevels(t, path), wantLevels(size, 0); !maps.Equal(got, want) {
			t.Fatalf("log of %d: tree_hashes rows by level %v, want %v", size, got, want)
		}
	}
	db.Close()
	db = reopen(t, path)
	checkAgainst(t, db, &ref, filed)
	for _, n := range []int64{1, 1, k - 2, k + 3} { // the edge read back from the database
		fileN(t, db, int(filed), int(n))
		filed += n
		ref.catchUp(t, db)
		checkAgainst(t, db, &ref, filed)
	}
	if got, want := storedLevels(t, path), wantLevels(filed, 0); !maps.Equal(got, want) {
		t.Fatalf("log of %d: tree_hashes rows by level %v, want %v", filed, got, want)
	}
	fileN(t, db, int(filed), 700) // more nodes than one statement reads
	filed += 700
	ref.catchUp(t, db)
	checkHashes(t, db, &ref, filed)
}

// TestTTreeLegacyLayout: a registry written when every interior node was
// stored (levels >= 1, as the store did before TreeStoredLevel) keeps
// working: opened, it is not rebuilt, its proofs and roots are the full
// tree's, and events appended to it store only the upper levels, with
// the same proofs and roots as a tree of one layout; so again after
// another open. Logs of several sizes around the levels' boundaries.
func TestTTreeLegacyLayout(t *testing.T) {
	k := int64(1) << sqlite.TreeStoredLevel
	for _, legacy := range []int64{1, 2, 3, k - 1, k, k + 1, 2*k + 2, 21} {
		t.Run(fmt.Sprint(legacy), func(t *testing.T) {
			db, path := openDB(t)
			fileN(t, db, 0, int(legacy))
			var ref fullTree
			ref.catchUp(t, db)
			db.Close()
			// The legacy layout: every stored hash but the leaves.
			raw := rawDB(t, path)
			mustExec(t, raw, "DELETE FROM tree_hashes")
			for idx, h := range ref.hashes {
				if level, _ := tlog.SplitStoredHashIndex(int64(idx)); level > 0 {
					mustExec(t, raw, "INSERT INTO tree_hashes (idx, hash) VALUES (?, ?)", idx, h[:])
				}
			}
			raw.Close()
			before := storedLevels(t, path)
			if want := wantLevels(legacy, legacy); !maps.Equal(before, want) {
				t.Fatalf("the legacy layout: %v, want %v", before, want)
			}
			db = reopen(t, path)
			if got := storedLevels(t, path); !maps.Equal(got, before) {
				t.Fatalf("opening changed the legacy tree: %v, was %v", got, before)
			}
			checkAgainst(t, db, &ref, legacy)
			size := legacy
			for _, n := range []int64{1, k - 1, 2*k + 5} {
				fileN(t, db, int(size), int(n))
				size += n
				ref.catchUp(t, db)
				checkAgainst(t, db, &ref, size)
			}
			db.Close()
			db = reopen(t, path)
			checkAgainst(t, db, &ref, size)
			if got, want := storedLevels(t, path), wantLevels(size, legacy); !maps.Equal(got, want) {
				t.Fatalf("log of %d (%d legacy): tree_hashes rows by level %v, want %v", size, legacy, got, want)
			}
		})
	}
}

// TestTTreeCutMidEvent: stored hashes cut short in the middle of an
// event's (its lower stored node kept, its upper ones gone) are rebuilt
// when the store opens: the largest index left is not taken for a
// complete event.
func TestTTreeCutMidEvent(t *testing.T) {
	db, path := openDB(t)
	fileN(t, db, 0, 64) // event 64 completes the nodes of levels 0..6
	var ref fullTree
	ref.catchUp(t, db)
	db.Close()
	raw := rawDB(t, path)
	mustExec(t, raw, "DELETE FROM tree_hashes WHERE idx > ?", merkle.FirstIndex(63)+sqlite.TreeStoredLevel)
	raw.Close()
	db = reopen(t, path)
	checkAgainst(t, db, &ref, 64)
	if got, want := storedLevels(t, path), wantLevels(64, 0); !maps.Equal(got, want) {
		t.Fatalf("tree_hashes rows by level %v, want %v", got, want)
	}
}
