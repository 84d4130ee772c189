package storetest

import (
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"credo"
	"credo/transparency"
)

// testTree checks the Merkle tree a store keeps over its log: after
// filings of several sizes, appends and a failed call, the stored tree
// is the tree of the event bodies (rebuilt independently), and every
// inclusion and consistency proof the store's hashes give verifies with
// golang.org/x/mod/sumdb/tlog's own CheckRecord and CheckTree against a
// checkpoint opened with note.Open.
func testTree(t *testing.T, s credo.Store) {
	l, ok := transparency.AsLog(s)
	if !ok {
		t.Fatalf("%T keeps no Merkle tree (transparency.Log)", s)
	}
	fileN(t, s, 0, 1)
	fileN(t, s, 1, 7)
	res := fileN(t, s, 8, 100)
	appendEvents(t, s, &credo.Event{Type: credo.EventRecordRevoked, Change: &credo.RecordChange{RecordID: res[3].Record.ID, At: t0}})
	// A failing call in a group of concurrent calls writes no hashes.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 3 {
				s.Append(ctx, []*credo.Event{{Type: credo.EventRecordRevoked, Change: &credo.RecordChange{RecordID: 999999, At: t0}}})
				return
			}
			fileN(t, s, 200+10*i, 10)
		}()
	}
	wg.Wait()
	fileN(t, s, 400, 5)

	vr, err := transparency.VerifyExtends(ctx, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !vr.TreeOK || vr.FirstBadLeaf != 0 {
		t.Fatalf("stored tree does not match the event bodies: %+v", vr)
	}
	head, _, _ := s.Head(ctx)
	if vr.Head != head || head != 1+7+100+1+70+5 {
		t.Fatalf("head %d, verified %d", head, vr.Head)
	}

	skey, vkey, err := transparency.GenerateKey("credo.test/log")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	cp, err := transparency.Current(ctx, l, "credo.test/log")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := transparency.SignCheckpoint(cp, signer)
	if err != nil {
		t.Fatal(err)
	}
	// Upstream only from here on.
	n, err := note.Open(signed.Note, note.VerifierList(verifier))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := transparency.ParseCheckpoint(n.Text)
	if err != nil || parsed != cp {
		t.Fatalf("checkpoint %q parses to %+v, %v", n.Text, parsed, err)
	}
	var bodies [][]byte
	if err := l.EventBodies(ctx, 0, head, func(_ int64, b []byte) error {
		bodies = append(bodies, append([]byte(nil), b...))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= head; seq++ {
		p, err := transparency.Inclusion(ctx, l, seq, head)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckRecord(p, head, cp.Root, seq-1, tlog.RecordHash(bodies[seq-1])); err != nil {
			t.Fatalf("inclusion of event %d: %v", seq, err)
		}
		if seq > 1 {
			if err := tlog.CheckRecord(p, head, cp.Root, seq-2, tlog.RecordHash(bodies[seq-1])); err == nil {
				t.Fatalf("inclusion proof of event %d verifies at the wrong position", seq)
			}
		}
	}
	for _, old := range []int64{1, 2, 7, 8, 100, 108, 109, head - 1, head} {
		oldRoot, err := transparency.Root(ctx, l, old)
		if err != nil {
			t.Fatal(err)
		}
		p, err := transparency.Consistency(ctx, l, old, head)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckTree(p, head, cp.Root, old, oldRoot); err != nil {
			t.Fatalf("consistency %d -> %d: %v", old, head, err)
		}
	}
	// A checkpoint the log extends passes; a larger one is a truncation.
	if err := transparency.CheckExtends(ctx, l, transparency.Checkpoint{Origin: cp.Origin, Size: 50, Root: mustRoot(t, l, 50)}); err != nil {
		t.Fatal(err)
	}
	future := transparency.Checkpoint{Origin: cp.Origin, Size: head + 2, Root: cp.Root}
	if d, ok := transparency.IsDivergence(transparency.CheckExtends(ctx, l, future)); !ok || d.Kind != "truncated" || d.Position != head+1 {
		t.Fatalf("CheckExtends of a longer checkpoint = %+v", d)
	}
	// Appends after a checkpoint keep extending it.
	fileN(t, s, 500, 3)
	if err := transparency.CheckExtends(ctx, l, cp); err != nil {
		t.Fatal(err)
	}
}

func mustRoot(t *testing.T, l transparency.Log, n int64) tlog.Hash {
	t.Helper()
	h, err := transparency.Root(ctx, l, n)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
