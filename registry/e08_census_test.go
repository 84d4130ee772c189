package registry_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"credo/registry"
)

// TestE08CensusStateEncrypted: with a snapshot key (a sealed registry),
// the census state saved beside the snapshot names no subject in clear
// (it held identifiers, names and case references), and loads again under
// the same key.
func TestE08CensusStateEncrypted(t *testing.T) {
	ctx := context.Background()
	st, _, c, path := factsCity(t, 200)
	snap := path + ".table"
	key := bytes.Repeat([]byte{7}, 32)
	openReg := func() (*registry.Registry, *syncBuffer) {
		logs := &syncBuffer{}
		r, err := registry.Open(ctx, st, registry.Options{Now: c.now, Snapshot: snap, SnapshotKey: key, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return r, logs
	}
	opts := registry.CensusOptions{TTL: time.Nanosecond, Points: 3}
	r1, _ := openReg()
	if _, err := registry.NewCensusCache(r1, opts).Get(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(snap + ".census")
	if err != nil {
		t.Fatalf("no census state saved: %v", err)
	}
	var subjects []string
	stop := errors.New("enough")
	st.Subjects(ctx, func(s string) error {
		subjects = append(subjects, s)
		if len(subjects) == 20 {
			return stop
		}
		return nil
	})
	if len(subjects) == 0 {
		t.Fatal("no subjects")
	}
	for _, s := range subjects {
		if bytes.Contains(b, []byte(s)) {
			t.Fatalf("the census state names %s in clear", s)
		}
	}
	r2, logs := openReg()
	if _, err := registry.NewCensusCache(r2, opts).Get(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "census state loaded") {
		t.Errorf("the encrypted state was not loaded:\n%s", logs)
	}
}
