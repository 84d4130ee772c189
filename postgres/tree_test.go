package postgres_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

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

// TestTOneSignerTwoNodes: two nodes on one database; the one with the
// key signs and stores its checkpoints, the other (no key, only the
// public key) serves the signer's latest checkpoint, and a receipt it
// builds verifies with the public key.
func TestTOneSignerTwoNodes(t *testing.T) {
	a, dsn := openDB(t)
	b, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	skey, vkey, err := transparency.GenerateKey("city.example/log")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "log.key")
	if err := os.WriteFile(keyFile, []byte(skey), 0o600); err != nil {
		t.Fatal(err)
	}
	fileN(t, a, 0, 20)
	signer, err := transparency.NewSigner(a, keyFile, filepath.Join(dir, "log.checkpoint"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := signer.Start(ctx); err != nil {
		t.Fatal(err)
	}
	follower, err := transparency.NewFollower(b, b, vkey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := follower.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if got := follower.Latest(); got == nil || !bytes.Equal(got.Note, signer.Latest().Note) {
		t.Fatalf("follower serves %v, the signer %d", got, signer.Size())
	}
	fileN(t, a, 20, 15)
	if _, err := signer.Sign(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := follower.Sign(ctx); err != nil {
		t.Fatal(err)
	}
	cp := follower.Latest()
	if cp.Size != 35 || !bytes.Equal(cp.Note, signer.Latest().Note) {
		t.Fatalf("follower serves size %d, the signer %d", cp.Size, signer.Size())
	}
	r, err := transparency.BuildReceipt(ctx, b, cp, []int64{3, 21, 35})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(r)
	if _, err := transparency.VerifyReceipt(data, signer.Verifier()); err != nil {
		t.Fatalf("the follower's receipt does not verify: %v", err)
	}
	// A checkpoint in the table that the key did not sign is refused.
	other, _, _ := transparency.GenerateKey("city.example/log")
	s2, _ := note.NewSigner(other)
	forged, _ := transparency.SignCheckpoint(transparency.Checkpoint{Origin: "city.example/log", Size: 35, Root: cp.Root}, s2)
	if err := b.PutCheckpoint(ctx, 36, forged.Note); err != nil {
		t.Fatal(err)
	}
	if _, err := follower.Sign(ctx); err == nil {
		t.Fatal("a checkpoint signed by another key was served")
	}
}
