package storetest

import (
	"testing"

	"credo"
)

// fileN files records from..from+n-1 of court.test about persons from..
// from+n-1, as NewRecord makes them.
func fileN(t *testing.T, s credo.Store, from, n int) []credo.FileResult {
	t.Helper()
	var rs []*credo.Record
	for i := from; i < from+n; i++ {
		rs = append(rs, NewRecord("court.test", i, i))
	}
	return file(t, s, rs...)
}

// Reopener is how a store package hands a test a store it can close and
// open again: open returns a new, empty store (closed at cleanup) and a
// function that opens the same storage again (the file, the database
// schema), also closed at cleanup. The test closes the first store before
// it reopens.
type Reopener[S any] func(t *testing.T) (s S, reopen func(t *testing.T) S)
