package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"credo/engine"
)

// snapshotTable returns a table with entries under every kind of key: RICs,
// an all-digit USCC, USCCs with letters and passport subjects, with empty,
// one-word and two-word measure sets and with and without next changes.
func snapshotTable(t *testing.T, now time.Time) (*engine.Table, map[string]engine.Entry) {
	t.Helper()
	pol := testPolicy(t)
	noLoad := func(s string) (*engine.Facts, error) { return nil, fmt.Errorf("unexpected load of %s", s) }
	tbl := engine.NewTable(pol, "hash-1", noLoad, now)
	want := map[string]engine.Entry{}
	subjects := []string{alice, bob, carol, minor, org, "91110000600037341L", "P:CHN:E12345678", "P:USA:123456789"}
	for i := range 5000 {
		subjects = append(subjects, ric(fmt.Sprintf("110105%08d%03d", 19500101+i%28, i%1000)))
	}
	for i, s := range subjects {
		var e engine.Entry
		switch i % 4 {
		case 1:
			e.InForce.Add(i % 64)
		case 2:
			e.InForce.Add(64 + i%64)
		case 3:
			e.InForce.Add(1)
			e.InForce.Add(127)
		}
		e.Next = now.Add(time.Duration(i+1) * time.Hour).UnixNano()
		if i%5 == 0 {
			e.Next = engine.EntryOf(&engine.State{}).Next // never
		}
		tbl.Put(s, e, true)
		want[s] = e
	}
	return tbl, want
}

func TestTableSnapshot(t *testing.T) {
	pol := testPolicy(t)
	now := day(2026, 6, 1)
	tbl, want := snapshotTable(t, now)
	var buf bytes.Buffer
	if _, err := tbl.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	noLoad := func(s string) (*engine.Facts, error) { return nil, fmt.Errorf("unexpected load of %s", s) }

	t.Run("round trip", func(t *testing.T) {
		got, err := engine.ReadTable(bytes.NewReader(buf.Bytes()), pol, "hash-1", noLoad, now)
		if err != nil {
			t.Fatal(err)
		}
		if got.Len() != len(want) {
			t.Fatalf("read %d entries, want %d", got.Len(), len(want))
		}
		for s, e := range want {
			g, err := got.Entry(s, now)
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			if g != e {
				t.Fatalf("%s: read %+v, want %+v", s, g, e)
			}
		}
	})

	t.Run("stale entries are recomputed after reading", func(t *testing.T) {
		loads := 0
		load := func(s string) (*engine.Facts, error) {
			loads++
			return &engine.Facts{ID: mustID(t, s)}, nil
		}
		later := now.Add(3 * time.Hour) // past the first entries' next change
		got, err := engine.ReadTable(bytes.NewReader(buf.Bytes()), pol, "hash-1", load, later)
		if err != nil {
			t.Fatal(err)
		}
		stale := 0
		for s, e := range want {
			if _, err := got.Entry(s, later); err != nil {
				t.Fatal(err)
			}
			if e.Next <= later.UnixNano() {
				stale++
			}
		}
		if stale == 0 || loads != stale {
			t.Fatalf("%d loads for %d stale entries", loads, stale)
		}
	})

	t.Run("another policy version", func(t *testing.T) {
		_, err := engine.ReadTable(bytes.NewReader(buf.Bytes()), pol, "hash-2", noLoad, now)
		if err == nil || !strings.Contains(err.Error(), "hash-1") {
			t.Fatalf("err = %v, want a refusal naming the table's policy", err)
		}
	})

	t.Run("truncated", func(t *testing.T) {
		b := buf.Bytes()
		for _, n := range []int{0, 5, 12, len(b) / 3, len(b) / 2, len(b) - 5, len(b) - 1} {
			_, err := engine.ReadTable(bytes.NewReader(b[:n]), pol, "hash-1", noLoad, now)
			if !errors.Is(err, engine.ErrBadSnapshot) {
				t.Fatalf("truncated to %d of %d bytes: err = %v, want ErrBadSnapshot", n, len(b), err)
			}
		}
	})

	t.Run("corrupt", func(t *testing.T) {
		for _, at := range []int{buf.Len() / 4, buf.Len() / 2, buf.Len() - 40} {
			b := bytes.Clone(buf.Bytes())
			b[at] ^= 0x5a
			_, err := engine.ReadTable(bytes.NewReader(b), pol, "hash-1", noLoad, now)
			if !errors.Is(err, engine.ErrBadSnapshot) {
				t.Fatalf("byte %d flipped: err = %v, want ErrBadSnapshot", at, err)
			}
		}
	})
}
