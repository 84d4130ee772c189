//go:build !linux && !darwin && !freebsd

package sqlite

import "os"

// lockFile opens (creating, 0600) the file at path. Here it takes no lock:
// a bulk load running in another process is not detected.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
