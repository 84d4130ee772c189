package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"credo"
	"credo/sqlite"
)

// The registry's files hold national identifiers: they are created
// readable by their owner only, whatever the umask.
func TestG17DatabaseFilesAreCreated0600(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "credo.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.LogChecks(ctx, []credo.CheckEntry{{ID: "chk-1", Checker: "tok", Subject: "11010519491231002X", Sector: "aviation",
		At: time.Now(), Known: time.Now(), Policy: "p", Decision: "allow"}}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm", sqlite.CheckLogPath(path), sqlite.CheckLogPath(path) + "-wal"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if m := fi.Mode().Perm(); m&0o077 != 0 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(f), m)
		}
	}
}
