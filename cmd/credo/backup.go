package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"credo"
	"credo/seal"
	"credo/sqlite"
)

// credo backup and credo restore: online backups of an embedded registry
// (docs/operations.md). A PostgreSQL registry is backed up by PostgreSQL's
// own tools (pg_basebackup and WAL archiving, for point-in-time recovery),
// as docs/operations.md describes.

func newBackupCmd() *cobra.Command {
	var db storeFlag
	var to string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "backup --db DB --to FILE",
		Short: "Take a consistent copy of a live registry (while serve writes) into a new file",
		Long: `Take a consistent copy of a registry into FILE, which must not exist, while
the registry is in use: the copy holds every transaction committed before it
began and none after (SQLite's VACUUM INTO, in one read transaction). The
check log's file is copied beside it (FILE.checks). Restore with
` + "`credo restore`" + `, which verifies the copy before it puts it in place.

PostgreSQL registries are backed up with pg_basebackup and WAL archiving:
see docs/operations.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if u, err := db.pgURL(); err != nil {
				return err
			} else if u != "" {
				return credo.Errorf(credo.EINVALID, "a PostgreSQL registry is backed up with pg_basebackup and WAL archiving (point-in-time recovery): see docs/operations.md")
			}
			if to == "" {
				return credo.FieldErrorf("--to", "is required: the file to write the backup to")
			}
			start := time.Now()
			info, err := sqlite.Backup(cmd.Context(), db.db, to)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, info)
			}
			fmt.Fprintf(out, "backed up %s to %s: log head %d %s (%s)\n", db.db, to, info.HeadSeq, info.Head, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().StringVar(&to, "to", "", "the backup file to write (must not exist)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newRestoreCmd() *cobra.Command {
	var db storeFlag
	var from string
	var force bool
	cmd := &cobra.Command{
		Use:   "restore --from FILE --db DB [--force]",
		Short: "Put a backup back in place, after verifying its log and projections",
		Long: `Copy the backup FILE (and FILE.checks, its check log, if any) beside DB,
verify the copy (the hash chain of its log, its head, and every projection
against a replay of the log), and only then move it into place. An existing
DB is never deleted: with --force it is moved aside to DB.replaced-TIME
(with its write-ahead log and check log); without, the restore is refused.
Stop every ` + "`credo serve`" + ` on DB first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if u, err := db.pgURL(); err != nil {
				return err
			} else if u != "" {
				return credo.Errorf(credo.EINVALID, "a PostgreSQL registry is restored by point-in-time recovery: see docs/operations.md")
			}
			if from == "" {
				return credo.FieldErrorf("--from", "is required: the backup file")
			}
			if _, err := os.Stat(db.db); err == nil && !force {
				return credo.Errorf(credo.ECONFLICT, "%s exists: restore over it with --force (it is moved aside, not deleted)", db.db)
			}
			if err := restore(cmd, from, db.db); err != nil {
				return err
			}
			// Opening the restored registry with its keys applies again
			// every erasure of its ledger (DB.erasures) that the backup
			// predates: a backup never brings an erased subject back.
			if keys, err := db.loadKeys(); err != nil || keys == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "the registry's keys were not given (--keys): the erasures of its ledger %s are applied when it is first opened with them\n", db.ledgerPath())
				return err
			}
			st, err := openStore(db, true)
			if err != nil {
				return err
			}
			defer st.Close()
			if s, ok := st.(*seal.Store); ok && s.Reapplied() > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "re-applied %d erasure(s) from %s that the backup predates\n", s.Reapplied(), db.ledgerPath())
			}
			return nil
		},
	}
	dbFlag(cmd, &db)
	cmd.Flags().StringVar(&from, "from", "", "the backup file (from `credo backup`)")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing registry (moved aside to DB.replaced-TIME)")
	return cmd
}

// restore copies the backup beside dest, verifies it, and renames it into
// place, moving an existing registry aside.
func restore(cmd *cobra.Command, from, dest string) error {
	out := cmd.OutOrStdout()
	tmp := dest + ".restoring"
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm", sqlite.CheckLogPath(tmp)} {
		os.Remove(p) // left by a restore that failed
	}
	if err := sqlite.CopyFile(from, tmp); err != nil {
		return fmt.Errorf("copying the backup: %w", err)
	}
	if cl := sqlite.CheckLogPath(from); fileExists(cl) {
		if err := sqlite.CopyFile(cl, sqlite.CheckLogPath(tmp)); err != nil {
			return fmt.Errorf("copying the backup's check log: %w", err)
		}
	}
	discard := func() {
		for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm", sqlite.CheckLogPath(tmp), sqlite.CheckLogPath(tmp) + "-wal", sqlite.CheckLogPath(tmp) + "-shm"} {
			os.Remove(p)
		}
	}
	res, pres, err := verifyFile(cmd.Context(), tmp)
	if err != nil {
		discard()
		return err
	}
	if !res.OK || !pres.OK {
		discard()
		problem := res.Problem
		if res.OK {
			problem = pres.Summary()
		}
		fmt.Fprintf(out, "NOT restored: the backup does not verify: %s\n", problem)
		return exitError{1}
	}
	if _, err := os.Stat(dest); err == nil {
		aside := dest + ".replaced-" + time.Now().UTC().Format("20060102T150405Z")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			for _, p := range []string{dest + suffix, sqlite.CheckLogPath(dest) + suffix} {
				if _, err := os.Stat(p); err == nil {
					rel := aside + p[len(dest):]
					if err := os.Rename(p, rel); err != nil {
						return fmt.Errorf("moving %s aside: %w", p, err)
					}
				}
			}
		}
		fmt.Fprintf(out, "moved the registry that was at %s aside to %s\n", dest, aside)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return err
	}
	if cl := sqlite.CheckLogPath(tmp); fileExists(cl) {
		if err := os.Rename(cl, sqlite.CheckLogPath(dest)); err != nil {
			return err
		}
	}
	sqlite.SyncDir(filepath.Dir(dest))
	fmt.Fprintf(out, "restored %s to %s: %d events, head %d %s; log and projections verified\n", from, dest, res.Count, res.HeadSeq, res.HeadHash)
	return nil
}

// verifyFile opens the registry file and verifies its log and projections.
func verifyFile(ctx context.Context, path string) (credo.VerifyResult, credo.ProjectionResult, error) {
	st, err := sqlite.Open(path)
	if err != nil {
		return credo.VerifyResult{}, credo.ProjectionResult{}, fmt.Errorf("the backup does not open as a registry: %w", err)
	}
	defer st.Close()
	res, err := st.Verify(ctx)
	if err != nil {
		return res, credo.ProjectionResult{}, err
	}
	pres, err := st.VerifyProjections(ctx)
	if err != nil {
		return res, pres, err
	}
	if pres.OK {
		// Also sets the cheap check's baseline for the first start.
		cheap, err := st.CheckProjections(ctx)
		if err != nil {
			return res, pres, err
		}
		if !cheap.OK {
			pres.OK, pres.Problems = false, cheap.Problems
		}
	}
	return res, pres, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
