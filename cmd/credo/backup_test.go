package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"credo"
	"credo/registry"
)

// TestR08BackupUnderLoad: `credo backup` copies a registry while records
// are being filed into it; `credo restore` verifies the copy and puts it
// in place; every record acknowledged before the backup started is in the
// restored registry, which verifies (log and projections).
func TestR08BackupUnderLoad(t *testing.T) {
	db := newRegistry(t)
	dir := t.TempDir()
	ctx := context.Background()
	st, err := openTestStore(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg, err := registry.Open(ctx, st, registry.Options{NoTable: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}

	// The load: four filers, one record per call, each remembering what
	// was acknowledged.
	var mu sync.Mutex
	var acked []string
	var stop atomic.Bool
	var wg sync.WaitGroup
	var n atomic.Int64
	var failed atomic.Value
	for w := range 4 {
		wg.Go(func() {
			for !stop.Load() {
				i := int(n.Add(1))
				rec := &credo.Record{Subject: ric(i), Rule: "JUDGMENT_DEFAULT", Authority: "court.test",
					CaseRef: fmt.Sprintf("(2026)b%d-%d", w, i), DecidedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), EvidenceSHA256: digest(fmt.Sprint(i))}
				if _, err := reg.FileRecord(ctx, rec); err != nil {
					failed.Store(err)
					return
				}
				mu.Lock()
				acked = append(acked, rec.CaseRef)
				mu.Unlock()
			}
		})
	}
	for n.Load() < 200 { // under way
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	bak := filepath.Join(dir, "backup.db")
	code, out, errs := runCLI(t, "backup", "--db", db, "--to", bak)
	atBackup := n.Load()
	for n.Load() < atBackup+100 { // and goes on after
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if e := failed.Load(); e != nil {
		t.Fatalf("filing under load: %v", e)
	}
	if code != 0 || !strings.Contains(out, "backed up") {
		t.Fatalf("backup: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "backup", "--db", db, "--to", bak); code == 0 || !strings.Contains(errs, "never overwrites") {
		t.Errorf("second backup to the same file: exit %d, %s", code, errs)
	}

	restored := filepath.Join(dir, "restored.db")
	code, out, errs = runCLI(t, "restore", "--from", bak, "--db", restored)
	if code != 0 || !strings.Contains(out, "log and projections verified") {
		t.Fatalf("restore: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "verify", "--db", restored); code != 0 {
		t.Fatalf("verify of the restored registry (without its keys): exit %d\n%s%s", code, out, errs)
	}
	copyKeys(t, db, restored) // the operator gives the registry's keys to read it
	rst, err := openTestStore(restored)
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for _, c := range before {
		if _, err := rst.RecordByCase(ctx, "court.test", c); err != nil {
			missing++
		}
	}
	rst.Close()
	if missing > 0 {
		t.Errorf("%d of the %d records acknowledged before the backup started are missing from the restore", missing, len(before))
	}
	t.Logf("%d records acknowledged before the backup, %d filed in all", len(before), n.Load())

	// Restoring over a registry needs --force, and moves it aside.
	if code, _, errs := runCLI(t, "restore", "--from", bak, "--db", restored); code == 0 || !strings.Contains(errs, "--force") {
		t.Errorf("restore over an existing registry without --force: exit %d, %s", code, errs)
	}
	code, out, errs = runCLI(t, "restore", "--from", bak, "--db", restored, "--force")
	if code != 0 || !strings.Contains(out, "moved the registry that was at") {
		t.Errorf("restore --force: exit %d\n%s%s", code, out, errs)
	}
	matches, _ := filepath.Glob(restored + ".replaced-*")
	if len(matches) == 0 {
		t.Errorf("the replaced registry was not kept")
	}

	// Relative paths, as an operator types them.
	t.Chdir(dir)
	if code, out, errs := runCLI(t, "backup", "--db", db, "--to", "relative.db"); code != 0 {
		t.Errorf("backup to a relative path: exit %d\n%s%s", code, out, errs)
	}

	// A damaged backup is not restored.
	raw, err := os.ReadFile(bak)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.db")
	os.WriteFile(bad, raw[:len(raw)/2], 0o644)
	if code, out, errs := runCLI(t, "restore", "--from", bad, "--db", filepath.Join(dir, "none.db")); code == 0 {
		t.Errorf("restore of a truncated backup: exit 0\n%s%s", out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); err == nil {
		t.Errorf("a truncated backup was put in place")
	}
}
