package sqlite

import (
	"errors"
	"syscall"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// storageFault returns what keeps the store from working, if err is a
// failure of the machine rather than of the request or of Credo: a full
// disk, an I/O error, a file that cannot be opened or written, a lock held
// past the busy timeout. Such failures are EUNAVAILABLE (an outage, said
// as one: 503 with Retry-After, /readyz not ready), not internal errors.
func storageFault(err error) (string, bool) {
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_FULL:
			return "the disk is full", true
		case sqlite3.SQLITE_IOERR:
			return "an I/O error on the database file", true
		case sqlite3.SQLITE_CANTOPEN:
			return "the database file cannot be opened", true
		case sqlite3.SQLITE_READONLY:
			return "the database file is read-only", true
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return "the database is locked by another writer", true
		}
	}
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return "the disk is full", true
	case errors.Is(err, syscall.EIO):
		return "an I/O error on the database file", true
	case errors.Is(err, syscall.EROFS):
		return "the file system is read-only", true
	}
	return "", false
}
