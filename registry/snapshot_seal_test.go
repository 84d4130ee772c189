package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"credo/registry"
)

// TestE01SnapshotEncrypted: with a snapshot key (a sealed registry), the
// decision table's snapshot names no subject in clear, loads again under
// the same key, and is refused (a rebuild, never a wrong table) under
// another key or none.
func TestE01SnapshotEncrypted(t *testing.T) {
	e := newSnapEnv(t)
	ctx := context.Background()
	key := bytes.Repeat([]byte{7}, 32)
	open := func(k []byte) *registry.Registry {
		t.Helper()
		e.logs = &syncBuffer{}
		reg, err := registry.Open(ctx, e.st, registry.Options{Now: e.c.now, Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Snapshot: e.snap, SnapshotKey: k})
		if err != nil {
			t.Fatal(err)
		}
		return reg
	}
	reg := open(key)
	e.publish(reg, nil)
	decided := time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai)
	for i := range 5 {
		if _, err := reg.FileRecord(ctx, judgment(snapPerson(i), fmt.Sprintf("(2026)K%d", i), decided)); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.SaveSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(e.snap)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if bytes.Contains(b, []byte(snapPerson(i))) {
			t.Errorf("the snapshot names %s in clear", snapPerson(i))
		}
	}
	if !bytes.Contains(b, []byte(`"iv":"`)) {
		t.Error("the snapshot's header has no iv")
	}
	loaded := func(k []byte) bool {
		open(k)
		return strings.Contains(e.logs.String(), "decision table loaded from snapshot")
	}
	if !loaded(key) {
		t.Errorf("not loaded under its key:\n%s", e.logs)
	}
	if loaded(bytes.Repeat([]byte{8}, 32)) || !strings.Contains(e.logs.String(), "snapshot not used") {
		t.Errorf("loaded under another key, or refused for another reason:\n%s", e.logs)
	}
	if loaded(nil) || !strings.Contains(e.logs.String(), "encrypted, and no key was given") {
		t.Errorf("loaded without a key:\n%s", e.logs)
	}
}
