//go:build !linux && !darwin && !freebsd

package sqlite

// freeBytes is unknown on this system.
func freeBytes(dir string) (uint64, bool) { return 0, false }
