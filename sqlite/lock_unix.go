//go:build linux || darwin || freebsd

package sqlite

import (
	"errors"
	"os"
	"syscall"
)

// lockFile opens (creating, 0600) the file at path and takes an exclusive
// lock on it, held until the file is closed or the process ends; held by
// another open file (another process, or another DB of this one), it fails
// with errLocked.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return f, nil
}
