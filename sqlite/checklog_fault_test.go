package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"credo"
)

// injectFaults makes the check log's operations fail with what fn returns
// (nil: succeed) for the rest of the test.
func injectFaults(t *testing.T, fn func(op string) error) {
	faultHook.Store(&fn)
	t.Cleanup(func() { faultHook.Store(nil) })
}

// TestR02CheckLogOpenRecovers: a check log that cannot be opened (a
// directory in the way of its file) fails its writes with an outage, not
// an internal error; once the cause is removed, the next write opens it
// and succeeds. Before, the first failure was remembered for the life of
// the process.
func TestR02CheckLogOpenRecovers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "credo.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := os.Mkdir(CheckLogPath(path), 0o755); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	err = db.LogChecks(ctx, []credo.CheckEntry{checkEntry("c1", "S1", at)})
	if err == nil {
		t.Fatal("logging into a check log that cannot be opened succeeded")
	}
	if credo.ErrorCode(err) != credo.EUNAVAILABLE {
		t.Errorf("the failure is %q (%v), want unavailable", credo.ErrorCode(err), err)
	}
	if err := db.ProbeWrite(ctx); err == nil {
		t.Error("the write probe passed while the check log cannot be opened")
	}
	if err := os.Remove(CheckLogPath(path)); err != nil {
		t.Fatal(err)
	}
	if err := db.ProbeWrite(ctx); err != nil {
		t.Errorf("the write probe fails after the cause is gone: %v", err)
	}
	if err := db.LogChecks(ctx, []credo.CheckEntry{checkEntry("c2", "S1", at)}); err != nil {
		t.Fatalf("the check log stays broken after the cause is gone: %v", err)
	}
	if c, err := db.Check(ctx, "c2"); err != nil || c.Subject != "S1" {
		t.Fatalf("Check(c2) = %v, %v", c, err)
	}
}

// TestR02CheckLogENOSPCClears injects ENOSPC into the check log's first
// open and then into its writes: each failure is an outage (unavailable,
// "the disk is full"), nothing is logged, and once the fault clears the
// same DB opens and writes the check log.
func TestR02CheckLogENOSPCClears(t *testing.T) {
	ctx := context.Background()
	db, err := Open(filepath.Join(t.TempDir(), "credo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	full := map[string]bool{"open": true}
	injectFaults(t, func(op string) error {
		if full[op] {
			return &os.PathError{Op: "write", Path: CheckLogPath(db.path), Err: syscall.ENOSPC}
		}
		return nil
	})
	for i, want := range []string{"open", "write"} {
		clear(full)
		full[want] = true
		err := db.LogChecks(ctx, []credo.CheckEntry{checkEntry("c1", "S1", at)})
		if credo.ErrorCode(err) != credo.EUNAVAILABLE || credo.ErrorMessage(err) != "the store cannot work: the disk is full; retry later" {
			t.Fatalf("round %d (%s fails): LogChecks = %v, want unavailable: the disk is full", i, want, err)
		}
		if err := db.ProbeWrite(ctx); credo.ErrorCode(err) != credo.EUNAVAILABLE {
			t.Errorf("round %d: the write probe = %v while the disk is full", i, err)
		}
	}
	clear(full)
	if err := db.ProbeWrite(ctx); err != nil {
		t.Fatalf("the write probe fails once space is back: %v", err)
	}
	if err := db.LogChecks(ctx, []credo.CheckEntry{checkEntry("c1", "S1", at)}); err != nil {
		t.Fatalf("the check log does not recover once space is back: %v", err)
	}
	cs, err := db.ChecksOf(ctx, "S1", 10)
	if err != nil || len(cs) != 1 {
		t.Fatalf("ChecksOf = %v, %v; want the one check", cs, err)
	}
}
