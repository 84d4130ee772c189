package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"credo"
	"credo/postgres"
	"credo/registry"
)

// TestR08PostgresPITR: the PostgreSQL backup of docs/operations.md. A
// base backup (pg_basebackup) taken while records are filed, the WAL
// archived, then a point-in-time recovery to a named restore point into a
// new cluster: the recovered registry verifies (log and projections),
// holds every record acknowledged before the restore point and none whose
// filing began after it.
func TestR08PostgresPITR(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL clusters")
	}
	bin := pgBin(t)
	base, err := os.MkdirTemp("", "credo-pitr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	archive := filepath.Join(base, "archive")
	os.Mkdir(archive, 0o755)
	for _, d := range []string{base, archive} {
		if out, err := exec.Command("chown", "postgres:postgres", d).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	os.Chmod(base, 0o755)
	primary := &pgCluster{t: t, bin: bin, dir: filepath.Join(base, "primary"), port: freePort(t), sock: base, log: filepath.Join(base, "primary.log")}
	asPostgres(t, filepath.Join(bin, "initdb"), "-D", primary.dir, "-A", "trust", "-U", "postgres", "--no-sync")
	primary.configure(fmt.Sprintf("wal_level = replica\nmax_wal_senders = 5\narchive_mode = on\narchive_command = 'test ! -f %[1]s/%%f && cp %%p %[1]s/%%f'\n", archive))
	hba, err := os.OpenFile(filepath.Join(primary.dir, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	hba.WriteString("\nhost replication all 127.0.0.1/32 trust\n")
	hba.Close()
	primary.ctl("start")
	t.Cleanup(func() {
		exec.Command("runuser", "-u", "postgres", "--", filepath.Join(bin, "pg_ctl"), "-D", primary.dir, "-m", "immediate", "stop").Run()
	})

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, primary.dsn("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE credo"); err != nil {
		t.Fatal(err)
	}
	dsn := primary.dsn("credo")
	t.Setenv(envPostgres, "")
	mustRun(t, "init", "--postgres", dsn, "--policy", "testdata/policy.yaml")
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg, err := registry.Open(ctx, st, registry.Options{NoTable: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}

	// The load: four filers; each record remembers whether its filing
	// began after the restore point was made.
	var mu sync.Mutex
	var ackedBefore, startedAfter []string
	var stop, pointMade atomic.Bool
	var n atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for !stop.Load() {
				i := int(n.Add(1))
				after := pointMade.Load()
				rec := &credo.Record{Subject: ric(i), Rule: "JUDGMENT_DEFAULT", Authority: "court.test",
					CaseRef: fmt.Sprintf("(2026)p%d-%d", w, i), DecidedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), EvidenceSHA256: digest(fmt.Sprint(i))}
				if _, err := reg.FileRecord(ctx, rec); err != nil {
					failed.Store(err)
					return
				}
				mu.Lock()
				if after {
					startedAfter = append(startedAfter, rec.CaseRef)
				} else if !pointMade.Load() {
					ackedBefore = append(ackedBefore, rec.CaseRef)
				}
				mu.Unlock()
			}
		})
	}
	waitFor := func(k int64) {
		for n.Load() < k && failed.Load() == nil {
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(100)
	backup := filepath.Join(base, "restored")
	asPostgres(t, filepath.Join(bin, "pg_basebackup"), "-h", "127.0.0.1", "-p", fmt.Sprint(primary.port), "-U", "postgres",
		"-D", backup, "-X", "stream", "-c", "fast")
	waitFor(n.Load() + 100)
	// The recovery target. Acknowledged before it: committed before it.
	mu.Lock()
	if _, err := conn.Exec(ctx, "SELECT pg_create_restore_point('r08')"); err != nil {
		mu.Unlock()
		t.Fatal(err)
	}
	pointMade.Store(true)
	mu.Unlock()
	waitFor(n.Load() + 100)
	stop.Store(true)
	wg.Wait()
	if e := failed.Load(); e != nil {
		t.Fatalf("filing under load: %v", e)
	}
	// Archive the segment holding the restore point.
	var seg string
	if err := conn.QueryRow(ctx, "SELECT pg_walfile_name(pg_switch_wal())").Scan(&seg); err != nil {
		t.Fatal(err)
	}
	for {
		var last *string
		if err := conn.QueryRow(ctx, "SELECT last_archived_wal FROM pg_stat_archiver").Scan(&last); err != nil {
			t.Fatal(err)
		}
		if last != nil && *last >= seg {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Point-in-time recovery into a new cluster.
	restored := &pgCluster{t: t, bin: bin, dir: backup, port: freePort(t), sock: base, log: filepath.Join(base, "restored.log")}
	restored.configure(fmt.Sprintf("archive_mode = off\nrestore_command = 'cp %s/%%f %%p'\nrecovery_target_name = 'r08'\nrecovery_target_action = 'promote'\n", archive))
	if err := os.WriteFile(filepath.Join(backup, "recovery.signal"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	restored.ctl("start")
	t.Cleanup(func() {
		exec.Command("runuser", "-u", "postgres", "--", filepath.Join(bin, "pg_ctl"), "-D", backup, "-m", "immediate", "stop").Run()
	})
	rconn, err := pgx.Connect(ctx, restored.dsn("credo"))
	if err != nil {
		t.Fatal(err)
	}
	defer rconn.Close(ctx)
	for {
		var inRecovery bool
		if err := rconn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
			t.Fatal(err)
		}
		if !inRecovery {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, out, errs := runCLI(t, "verify", "--postgres", restored.dsn("credo")); code != 0 {
		t.Fatalf("verify of the recovered registry: exit %d\n%s%s", code, out, errs)
	}
	rst, err := postgres.Open(ctx, restored.dsn("credo"))
	if err != nil {
		t.Fatal(err)
	}
	defer rst.Close()
	missing, present := 0, 0
	for _, c := range ackedBefore {
		if _, err := rst.RecordByCase(ctx, "court.test", c); err != nil {
			missing++
		}
	}
	for _, c := range startedAfter {
		if _, err := rst.RecordByCase(ctx, "court.test", c); err == nil {
			present++
		}
	}
	if missing > 0 {
		t.Errorf("%d of the %d records acknowledged before the restore point are missing after recovery", missing, len(ackedBefore))
	}
	if present > 0 {
		t.Errorf("%d of the %d records filed after the restore point were recovered: the recovery went past its target", present, len(startedAfter))
	}
	t.Logf("%d records acknowledged before the restore point (all recovered), %d filed after it (none recovered), %d in all", len(ackedBefore), len(startedAfter), n.Load())
}
