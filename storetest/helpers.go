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

// FullStore is a store with every part the Run functions check: the log,
// the due-process queues, notices, the webhook outbox, tokens and the
// check log. Both of Credo's stores are one.
type FullStore interface {
	credo.Store
	credo.DueProcessStore
	credo.NoticeStore
	credo.Outbox
	credo.TokenStore
	CheckLogStore
}

// RunParts runs, on a store with every part, the checks of each part
// beyond Run's: RunDueProcess, RunNotices, RunOutbox, RunTokens and
// RunCheckLog. open is as for those (a Reopener).
func RunParts(t *testing.T, open Reopener[FullStore]) {
	newStore := func(t *testing.T) FullStore { s, _ := open(t); return s }
	t.Run("DueProcess", func(t *testing.T) {
		RunDueProcess(t, func(t *testing.T) (DueProcessStore, func(*testing.T) DueProcessStore) {
			s, reopen := open(t)
			return s, func(t *testing.T) DueProcessStore { return reopen(t) }
		})
	})
	t.Run("Notices", func(t *testing.T) {
		RunNotices(t, func(t *testing.T) NoticeStore { return newStore(t) })
	})
	t.Run("Outbox", func(t *testing.T) {
		RunOutbox(t, func(t *testing.T) OutboxStore { return newStore(t) })
	})
	t.Run("Tokens", func(t *testing.T) {
		RunTokens(t, func(t *testing.T) credo.TokenStore { return newStore(t) })
	})
	t.Run("CheckLog", func(t *testing.T) {
		RunCheckLog(t, func(t *testing.T) (CheckLogStore, func(*testing.T) CheckLogStore) {
			s, reopen := open(t)
			return s, func(t *testing.T) CheckLogStore { return reopen(t) }
		})
	})
}
