package transparency

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"credo"
)

// Log is a store that keeps the Merkle tree over its events: both
// Credo stores (sqlite, postgres) are.
type Log interface {
	Head(ctx context.Context) (seq int64, hash string, err error)
	// TreeHashes returns the stored hashes at the given stored-hash
	// indexes (golang.org/x/mod/sumdb/tlog's numbering).
	TreeHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	// EventBodies calls fn with the canonical body of every event with
	// after < seq <= upTo, in order.
	EventBodies(ctx context.Context, after, upTo int64, fn func(seq int64, body []byte) error) error
}

// AsLog returns the store as a Log, if it keeps the tree.
func AsLog(s credo.Store) (Log, bool) {
	l, ok := s.(Log)
	return l, ok
}

func reader(ctx context.Context, l Log) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) { return l.TreeHashes(ctx, indexes) })
}

// Root returns the root hash of the tree of the first size events.
func Root(ctx context.Context, l Log, size int64) (tlog.Hash, error) {
	if err := checkSize(ctx, l, size); err != nil {
		return tlog.Hash{}, err
	}
	return tlog.TreeHash(size, reader(ctx, l))
}

// Inclusion returns the proof that event seq is in the tree of size
// events: a tlog.RecordProof of record seq-1.
func Inclusion(ctx context.Context, l Log, seq, size int64) (tlog.RecordProof, error) {
	if seq < 1 || seq > size {
		return nil, credo.FieldErrorf("seq", "must be between 1 and the tree size %d", size)
	}
	if err := checkSize(ctx, l, size); err != nil {
		return nil, err
	}
	return tlog.ProveRecord(size, seq-1, reader(ctx, l))
}

// Consistency returns the proof that the tree of size newSize extends
// the tree of size old.
func Consistency(ctx context.Context, l Log, old, newSize int64) (tlog.TreeProof, error) {
	if old < 1 || old > newSize {
		// Every tree extends the empty one: there is no proof to give for 0.
		return nil, credo.FieldErrorf("old", "must be between 1 and new (%d)", newSize)
	}
	if err := checkSize(ctx, l, newSize); err != nil {
		return nil, err
	}
	return tlog.ProveTree(newSize, old, reader(ctx, l))
}

func checkSize(ctx context.Context, l Log, size int64) error {
	head, _, err := l.Head(ctx)
	if err != nil {
		return err
	}
	if size < 0 || size > head {
		return credo.FieldErrorf("size", "%d is beyond the log's %d events", size, head)
	}
	return nil
}

// Current returns the checkpoint of the whole log as it stands.
func Current(ctx context.Context, l Log, origin string) (Checkpoint, error) {
	head, _, err := l.Head(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	root, err := tlog.TreeHash(head, reader(ctx, l))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("tree of %d events: %w", head, err)
	}
	return Checkpoint{Origin: origin, Size: head, Root: root}, nil
}
