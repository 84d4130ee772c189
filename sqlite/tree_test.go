package sqlite_test

import (
	"testing"

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
