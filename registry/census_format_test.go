package registry_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"credo/registry"
)

// TestCensusStateOldVersion: a census state file of the earlier version
// (a gob value a subject) is not read: the census is built anew from the
// facts and the file replaced by one of this version.
func TestCensusStateOldVersion(t *testing.T) {
	ctx := context.Background()
	st, _, c, path := factsCity(t, 300)
	snap := path + ".table"
	body := []byte("a version 1 body")
	sum := sha256.Sum256(body)
	if err := os.WriteFile(snap+".census", append([]byte("credo-census 1 "+hex.EncodeToString(sum[:])+"\n"), body...), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	r, err := registry.Open(ctx, st, registry.Options{Now: c.now, Snapshot: snap, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	cc := registry.NewCensusCache(r, registry.CensusOptions{TTL: time.Nanosecond, Points: 2})
	if _, err := cc.Get(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "census state not loaded") || registry.CensusReevaluated(cc) != -1 {
		t.Errorf("a file of version 1 was read:\n%s", logs)
	}
	b, err := os.ReadFile(snap + ".census")
	if err != nil || !strings.HasPrefix(string(b), "credo-census 2 ") {
		t.Errorf("the file was not replaced: %.20q, %v", b, err)
	}
}
