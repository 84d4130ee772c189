package registry_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/engine"
	"credo/registry"
	"credo/sqlite"
)

// TestR04DoubtedProjections: a registry whose projections disagree with
// its log answers nothing from them. Deleting the subject-index row of the
// record that makes a subject denied used to turn the deny into an allow
// (and `credo verify` said ok); the cheap check at open now refuses, and
// an alteration that keeps the row counts is caught by VerifyProjections,
// after which the registry refuses too.
func TestR04DoubtedProjections(t *testing.T) {
	for _, tc := range []struct {
		name, tamper string
		cheap        bool
	}{
		{"row deleted", "DELETE FROM subject_events WHERE subject = ?1", true},
		{"row moved", "UPDATE subject_events SET subject = '" + org + "' WHERE subject = ?1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
			path := filepath.Join(t.TempDir(), "r.db")
			openReg := func() (*registry.Registry, *sqlite.DB) { return openAt(t, path, c, "") }
			reg, st := openReg()
			src, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := reg.Publish(ctx, "policy.yaml", src, time.Time{}); err != nil {
				t.Fatal(err)
			}
			if _, err := reg.FileRecord(ctx, judgment(adult, "(2026)R04", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
				t.Fatal(err)
			}
			if d, err := reg.Check(ctx, adult, "aviation"); err != nil || d.Decision != engine.Deny {
				t.Fatalf("before tampering: %v, %v; want deny", d.Decision, err)
			}
			if res, err := reg.VerifyProjections(ctx); err != nil || !res.OK {
				t.Fatalf("VerifyProjections before tampering = %+v, %v", res, err)
			}
			st.Close()

			raw, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(tc.tamper, adult); err != nil {
				t.Fatal(err)
			}
			raw.Close()

			reg, st = openReg()
			defer st.Close()
			if !tc.cheap {
				if err := reg.Doubt(); err != nil {
					t.Fatalf("doubted at open (%v), though the row counts hold", err)
				}
				res, err := reg.VerifyProjections(ctx)
				if err != nil || res.OK || len(res.Problems) == 0 || res.Problems[0].Table != "subject_events" {
					t.Fatalf("VerifyProjections = %+v, %v; want subject_events named", res, err)
				}
			}
			d, err := reg.Check(ctx, adult, "aviation")
			if credo.ErrorCode(err) != credo.EUNAVAILABLE || !strings.Contains(err.Error(), "projections do not match") {
				t.Fatalf("Check after tampering = %v, %v; want EUNAVAILABLE saying the projections are doubted", d.Decision, err)
			}
			if _, err := reg.State(ctx, adult, time.Time{}, time.Time{}); credo.ErrorCode(err) != credo.EUNAVAILABLE {
				t.Errorf("State after tampering: %v; want EUNAVAILABLE", err)
			}
			if _, err := reg.FileRecord(ctx, judgment(adult, "(2026)R04-2", time.Date(2026, 5, 2, 0, 0, 0, 0, shanghai))); credo.ErrorCode(err) != credo.EUNAVAILABLE {
				t.Errorf("FileRecord after tampering: %v; want EUNAVAILABLE", err)
			}
		})
	}
}

// TestR04DoubtedSavesNoSnapshot: the check at open runs while the table is
// built; when it fails, the table built from the doubted projections is
// not saved as the snapshot the next start would trust, and the registry
// answers nothing.
func TestR04DoubtedSavesNoSnapshot(t *testing.T) {
	ctx := context.Background()
	c := &clock{time.Date(2026, 6, 1, 9, 0, 0, 0, shanghai)}
	path := filepath.Join(t.TempDir(), "r.db")
	snap := path + ".table"
	openReg := func() (*registry.Registry, *sqlite.DB) { return openAt(t, path, c, snap) }
	reg, st := openReg()
	src, err := os.ReadFile("../cmd/credo/testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Publish(ctx, "policy.yaml", src, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.FileRecord(ctx, judgment(adult, "(2026)R04-S", time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Untampered, a start without a snapshot saves one.
	os.Remove(snap)
	_, st = openReg()
	st.Close()
	if _, err := os.Stat(snap); err != nil {
		t.Fatalf("no snapshot saved by a sound start: %v", err)
	}
	os.Remove(snap)

	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("DELETE FROM facts WHERE subject = ?1", adult); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	reg, st = openReg()
	defer st.Close()
	if reg.Doubt() == nil {
		t.Fatal("not doubted at open, though a projection lost rows")
	}
	if _, err := os.Stat(snap); !os.IsNotExist(err) {
		t.Fatalf("a snapshot was saved from doubted projections: %v", err)
	}
	if _, err := reg.Check(ctx, adult, "aviation"); credo.ErrorCode(err) != credo.EUNAVAILABLE {
		t.Fatalf("Check: %v, want EUNAVAILABLE", err)
	}
}

// openAt opens the registry at path on the clock, with its table's
// snapshot file ("": none).
func openAt(t *testing.T, path string, c *clock, snapshot string) (*registry.Registry, *sqlite.DB) {
	t.Helper()
	st, err := sqlite.OpenOptions(path, sqlite.Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Open(context.Background(), st, registry.Options{Now: c.now, Snapshot: snapshot})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return reg, st
}
