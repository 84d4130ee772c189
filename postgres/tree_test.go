package postgres_test

import (
	"errors"
	"testing"

	"credo/postgres"
	"credo/transparency"
)

// TestTTreeBuiltOnOpen: a log written before the tree existed (or whose
// tree lost its tail) gets its tree built when the store opens, equal to
// the tree kept incrementally; and the insider attack (tail deleted, head
// rewritten) is caught against a checkpoint taken before it.
func TestTTreeBuiltOnOpen(t *testing.T) {
	db, dsn := openDB(t)
	fileN(t, db, 0, 300)
	want, err := transparency.Current(ctx, db, "o")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, q := range []string{"DELETE FROM tree_hashes", "DELETE FROM tree_hashes WHERE idx > 200"} {
		c := rawConn(t, dsn)
		mustExec(t, c, q)
		c.Close(ctx)
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatalf("%v: %v", err, errors.Unwrap(err))
		}
		got, err := transparency.Current(ctx, db, "o")
		if err != nil || got != want {
			t.Fatalf("after %q: tree %+v, %v; want %+v", q, got, err, want)
		}
		if vr, err := transparency.VerifyExtends(ctx, db, &want); err != nil || !vr.TreeOK {
			t.Fatalf("after %q: VerifyExtends = %+v, %v", q, vr, err)
		}
		db.Close()
	}

	c := rawConn(t, dsn)
	mustExec(t, c, "ALTER TABLE events DISABLE TRIGGER USER")
	mustExec(t, c, "DELETE FROM subject_events WHERE seq = 300")
	mustExec(t, c, "DELETE FROM records WHERE id = 300")
	mustExec(t, c, "DELETE FROM events WHERE seq = 300")
	mustExec(t, c, "UPDATE log_head SET seq = 299, hash = (SELECT hash FROM events WHERE seq = 299)")
	c.Close(ctx)
	db, err = postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if res, err := db.Verify(ctx); err != nil || !res.OK {
		t.Fatalf("the hash chain alone should not see it: Verify = %+v, %v", res, err)
	}
	d, ok := transparency.IsDivergence(transparency.CheckExtends(ctx, db, want))
	if !ok || d.Kind != "truncated" || d.Position != 300 {
		t.Fatalf("CheckExtends = %+v", d)
	}
}
