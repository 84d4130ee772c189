package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"credo"
	"credo/internal/storecore"
)

// BackupInfo describes a backup: the files written and the end of the log
// it holds.
type BackupInfo struct {
	Files   []string `json:"files"`
	HeadSeq int64    `json:"head_seq"`
	Head    string   `json:"head_hash"`
}

// Backup writes a consistent copy of the registry at path to the file to
// (which must not exist), while the registry may be in use: SQLite's
// VACUUM INTO, run in one read transaction, copies the database as of one
// committed state: every transaction committed before it began and none
// after, whatever other processes write meanwhile (a WAL reader never
// blocks the writer). The copy is written beside to, synced and renamed
// into place, so a crash leaves no half backup under its name. The check
// log's own file (CheckLogPath), if any, is copied likewise to
// CheckLogPath(to): a consistent copy of its own, taken just after.
func Backup(ctx context.Context, path, to string) (BackupInfo, error) {
	var info BackupInfo
	to, err := filepath.Abs(to)
	if err != nil {
		return info, internal("Backup", err)
	}
	if _, err := os.Stat(path); err != nil {
		return info, credo.Errorf(credo.ENOTFOUND, "no registry at %s: %v", path, err)
	}
	if _, err := os.Stat(to); err == nil {
		return info, credo.Errorf(credo.ECONFLICT, "%s exists: a backup never overwrites a file", to)
	}
	if err := vacuumInto(ctx, path, to); err != nil {
		return info, err
	}
	info.Files = append(info.Files, to)
	if cl := CheckLogPath(path); fileExists(cl) {
		if err := vacuumInto(ctx, cl, CheckLogPath(to)); err != nil {
			return info, err
		}
		info.Files = append(info.Files, CheckLogPath(to))
	}
	raw, err := sql.Open("sqlite", dsn(to, "query_only(1)"))
	if err != nil {
		return info, internal("Backup", err)
	}
	defer raw.Close()
	var head storecore.HashScan
	err = raw.QueryRowContext(ctx, "SELECT seq, hash FROM head WHERE id = 1").Scan(&info.HeadSeq, &head)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return info, internal("Backup", err)
	}
	info.Head = head.Hex
	return info, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// vacuumInto copies the database at path into to through a temporary
// file, synced and renamed.
func vacuumInto(ctx context.Context, path, to string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return internal("Backup", err)
	}
	tmp := to + ".part"
	os.Remove(tmp) // a part left by a crashed backup
	src, err := sql.Open("sqlite", dsn(abs, "busy_timeout(10000)"))
	if err != nil {
		return internal("Backup", err)
	}
	defer src.Close()
	src.SetMaxOpenConns(1)
	if _, err := src.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		os.Remove(tmp)
		return internal("Backup", fmt.Errorf("copying %s: %w", path, err))
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return internal("Backup", err)
	}
	if err := os.Rename(tmp, to); err != nil {
		os.Remove(tmp)
		return internal("Backup", err)
	}
	syncDir(filepath.Dir(to))
	return nil
}

func syncFile(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync() // not every file system supports it
		d.Close()
	}
}

// CopyFile copies a regular file to a new file, synced: how a restore
// puts a backup in place before it verifies it.
func CopyFile(from, to string) error {
	fi, err := os.Stat(from)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", from)
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(to)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(to)
		return err
	}
	return out.Close()
}

// SyncDir makes renames in dir durable where the file system supports it.
func SyncDir(dir string) { syncDir(dir) }
