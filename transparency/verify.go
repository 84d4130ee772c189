package transparency

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"credo/internal/merkle"
)

// Divergence is a log that does not extend a checkpoint: cut short
// (truncated), or different within the checkpoint's events (rewritten or
// forked). Position is the first event known to differ: the first missing
// one of a truncated log, the first whose body does not hash to the
// stored tree's leaf, or, when only the root tells, 0 (somewhere in
// 1..Size).
type Divergence struct {
	Kind     string // "truncated", "rewritten"
	Position int64
	Size     int64 // the checkpoint's tree size
	Head     int64 // the log's
	Detail   string
}

func (d *Divergence) Error() string {
	switch {
	case d.Kind == "truncated":
		return fmt.Sprintf("the log does not extend the checkpoint: it was truncated: it ends at event %d, the checkpoint covers %d events (first missing position %d)", d.Head, d.Size, d.Position)
	case d.Position > 0:
		return fmt.Sprintf("the log does not extend the checkpoint: it was rewritten or forked: event %d differs (%s)", d.Position, d.Detail)
	default:
		return fmt.Sprintf("the log does not extend the checkpoint: it was rewritten or forked within its first %d events (%s)", d.Size, d.Detail)
	}
}

// IsDivergence reports whether err is a Divergence.
func IsDivergence(err error) (*Divergence, bool) {
	var d *Divergence
	ok := errors.As(err, &d)
	return d, ok
}

// CheckExtends checks, from the stored tree and at the cost of a few
// reads, that the log extends cp: it is at least as long, and its first
// cp.Size events hash to cp's root. It returns a *Divergence if not. It
// trusts the stored tree to match the event bodies; VerifyExtends checks
// that too, by re-walking the log.
func CheckExtends(ctx context.Context, l Log, cp Checkpoint) error {
	ctx = merkle.Uncached(ctx) // what is stored, not what a cache read before
	head, _, err := l.Head(ctx)
	if err != nil {
		return err
	}
	if head < cp.Size {
		return &Divergence{Kind: "truncated", Position: head + 1, Size: cp.Size, Head: head}
	}
	root, err := tlog.TreeHash(cp.Size, reader(ctx, l))
	if err != nil {
		return &Divergence{Kind: "rewritten", Size: cp.Size, Head: head, Detail: "the stored tree is incomplete: " + err.Error()}
	}
	if root != cp.Root {
		return &Divergence{Kind: "rewritten", Size: cp.Size, Head: head, Detail: "the tree of its first events has another root"}
	}
	return nil
}

// VerifyResult is the outcome of VerifyExtends.
type VerifyResult struct {
	Head int64     `json:"head"`
	Root tlog.Hash `json:"root"` // of the tree rebuilt from the event bodies
	// TreeOK: the stored tree matches the tree rebuilt from the bodies.
	TreeOK bool `json:"tree_ok"`
	// FirstBadLeaf is the first event of the first stored subtree (of two
	// events, but for a stored tree itself altered) that the bodies do not
	// hash to (0: none).
	FirstBadLeaf int64 `json:"first_bad_leaf,omitempty"`
}

// VerifyExtends re-walks the whole log, rebuilds its Merkle tree from the
// event bodies, and checks that it extends cp (if cp.Size > 0 or cp.Root
// is set) and that the stored tree matches the bodies. A log that does
// not extend cp is a *Divergence error, with the first differing
// position when one can be told.
func VerifyExtends(ctx context.Context, l Log, cp *Checkpoint) (VerifyResult, error) {
	ctx = merkle.Uncached(ctx) // what is stored, not what a cache read before
	var res VerifyResult
	head, _, err := l.Head(ctx)
	if err != nil {
		return res, err
	}
	res.Head = head
	var mem merkle.Memory
	var cpRoot tlog.Hash
	haveCP := false
	if cp != nil && cp.Size == 0 {
		cpRoot, _ = mem.Root()
		haveCP = true
	}
	// The interior nodes rebuilt from the bodies are compared with the
	// stored ones, in order: the first that differs is over the first
	// pair of events whose bodies do not match the stored tree.
	const batch = 2048
	var idxs []int64
	var want []tlog.Hash
	checkNodes := func() {
		if len(idxs) == 0 || res.FirstBadLeaf != 0 {
			idxs, want = idxs[:0], want[:0]
			return
		}
		stored, err := l.TreeHashes(ctx, idxs)
		for i := range idxs {
			if err != nil || stored[i] != want[i] {
				level, k := tlog.SplitStoredHashIndex(idxs[i])
				res.FirstBadLeaf = k<<uint(level) + 1
				break
			}
		}
		idxs, want = idxs[:0], want[:0]
	}
	next := int64(1)
	err = l.EventBodies(ctx, 0, head, func(seq int64, body []byte) error {
		if seq != next {
			return fmt.Errorf("event %d is missing", next)
		}
		next++
		first, hs, err := mem.AddHash(tlog.RecordHash(body))
		if err != nil {
			return err
		}
		for i := 1; i < len(hs); i++ {
			idxs, want = append(idxs, first+int64(i)), append(want, hs[i])
		}
		if len(idxs) >= batch {
			checkNodes()
		}
		if cp != nil && mem.Size() == cp.Size {
			cpRoot, err = mem.Root()
			haveCP = true
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	checkNodes()
	if res.Root, err = mem.Root(); err != nil {
		return res, err
	}
	if head > 0 {
		stored, err := tlog.TreeHash(head, reader(ctx, l))
		res.TreeOK = err == nil && stored == res.Root && res.FirstBadLeaf == 0
	} else {
		res.TreeOK = true
	}
	if cp == nil {
		return res, nil
	}
	if !haveCP {
		return res, &Divergence{Kind: "truncated", Position: head + 1, Size: cp.Size, Head: head}
	}
	if cpRoot != cp.Root {
		d := &Divergence{Kind: "rewritten", Size: cp.Size, Head: head, Detail: "its first events hash to another root"}
		if res.FirstBadLeaf != 0 && res.FirstBadLeaf <= cp.Size {
			d.Position = res.FirstBadLeaf
			d.Detail = "its body does not match the stored tree"
		}
		return res, d
	}
	return res, nil
}
