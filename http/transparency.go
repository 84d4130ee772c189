package http

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"credo"
	"credo/transparency"
)

// The transparency endpoints: the latest signed checkpoint (C2SP
// tlog-checkpoint), the log's public key, and inclusion and consistency
// proofs (golang.org/x/mod/sumdb/tlog's RecordProof and TreeProof, as
// base64 hashes). They are public: the point is that anyone can check
// the registry.

// InclusionProof is the answer of GET /v1/proofs/inclusion.
type InclusionProof struct {
	Seq   int64       `json:"seq"`
	Size  int64       `json:"size"`
	Root  tlog.Hash   `json:"root"`
	Proof []tlog.Hash `json:"proof"`
}

// ConsistencyProof is the answer of GET /v1/proofs/consistency.
type ConsistencyProof struct {
	Old     int64       `json:"old"`
	New     int64       `json:"new"`
	OldRoot tlog.Hash   `json:"old_root"`
	NewRoot tlog.Hash   `json:"new_root"`
	Proof   []tlog.Hash `json:"proof"`
}

// LogKey is the answer of GET /v1/log/key.
type LogKey struct {
	Origin string `json:"origin"`
	Key    string `json:"key"` // the signed-note verifier key
}

func (s *Server) registerTransparency() {
	s.route("GET /checkpoint", rAnyone, nil, s.handleCheckpoint)
	s.route("GET /v1/log/key", rAnyone, nil, s.handleLogKey)
	s.route("GET /v1/proofs/inclusion", rAnyone, []string{"seq", "size"}, s.handleInclusion)
	s.route("GET /v1/proofs/consistency", rAnyone, []string{"old", "new"}, s.handleConsistency)
}

// checkpointSize is the tree size of the latest signed checkpoint (0:
// none): every check answer states it.
func (s *Server) checkpointSize() int64 {
	if s.opts.Transparency == nil {
		return 0
	}
	return s.opts.Transparency.Size()
}

func (s *Server) treeLog() (transparency.Log, error) {
	l, ok := transparency.AsLog(s.reg.Store())
	if !ok {
		return nil, credo.Errorf(credo.EUNAVAILABLE, "this node's store keeps no Merkle tree")
	}
	return l, nil
}

func (s *Server) signer() (*transparency.Signer, error) {
	t := s.opts.Transparency
	if t == nil {
		return nil, credo.Errorf(credo.EUNAVAILABLE, "this registry signs no checkpoints (credo serve --log-key)")
	}
	if err := t.Fault(); err != nil {
		return nil, credo.Errorf(credo.EUNAVAILABLE, "%v", err)
	}
	return t, nil
}

func (s *Server) handleCheckpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	t, err := s.signer()
	if err != nil {
		return err
	}
	c := t.Latest()
	if c == nil {
		if c, err = t.Sign(r.Context()); err != nil {
			return err
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(c.Note)
	return err
}

func (s *Server) handleLogKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	t, err := s.signer()
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, LogKey{Origin: t.Origin(), Key: t.VerifierKey()})
}

// queryInt parses a required non-negative integer query parameter.
func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, invalid(name, "is required")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, invalid(name, "%q is not a non-negative integer", v)
	}
	return n, nil
}

func (s *Server) handleInclusion(w http.ResponseWriter, r *http.Request, p *principal) error {
	l, err := s.treeLog()
	if err != nil {
		return err
	}
	seq, err := queryInt(r, "seq")
	if err != nil {
		return err
	}
	size, err := queryInt(r, "size")
	if err != nil {
		return err
	}
	proof, err := transparency.Inclusion(r.Context(), l, seq, size)
	if err != nil {
		return err
	}
	root, err := transparency.Root(r.Context(), l, size)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, InclusionProof{Seq: seq, Size: size, Root: root, Proof: nonNil(proof)})
}

func (s *Server) handleConsistency(w http.ResponseWriter, r *http.Request, p *principal) error {
	l, err := s.treeLog()
	if err != nil {
		return err
	}
	old, err := queryInt(r, "old")
	if err != nil {
		return err
	}
	newSize, err := queryInt(r, "new")
	if err != nil {
		return err
	}
	proof, err := transparency.Consistency(r.Context(), l, old, newSize)
	if err != nil {
		return err
	}
	oldRoot, err := transparency.Root(r.Context(), l, old)
	if err != nil {
		return err
	}
	newRoot, err := transparency.Root(r.Context(), l, newSize)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ConsistencyProof{Old: old, New: newSize, OldRoot: oldRoot, NewRoot: newRoot, Proof: nonNil(proof)})
}

func nonNil(p []tlog.Hash) []tlog.Hash {
	if p == nil {
		return []tlog.Hash{}
	}
	return p
}

// SubjectReceipt returns the receipt of a subject's file: a checkpoint
// covering every event of theirs and each event's inclusion proof (nil if
// the registry signs no checkpoints).
func (s *Server) SubjectReceipt(ctx context.Context, subject string) (*transparency.Receipt, error) {
	t := s.opts.Transparency
	if t == nil {
		return nil, nil
	}
	return SubjectReceipt(ctx, s.reg.Store(), t, subject)
}

// SubjectReceipt builds the receipt of a subject's events under a
// checkpoint of signer's that covers them all (signing a new one if the
// latest does not).
func SubjectReceipt(ctx context.Context, store credo.Store, signer *transparency.Signer, subject string) (*transparency.Receipt, error) {
	l, ok := transparency.AsLog(store)
	if !ok {
		return nil, credo.Errorf(credo.EUNAVAILABLE, "this node's store keeps no Merkle tree")
	}
	if err := signer.Fault(); err != nil {
		return nil, credo.Errorf(credo.EUNAVAILABLE, "%v", err)
	}
	evs, err := store.SubjectEvents(ctx, subject)
	if err != nil {
		return nil, err
	}
	seqs := make([]int64, len(evs))
	var last int64
	for i := range evs {
		seqs[i] = evs[i].Seq
		last = max(last, evs[i].Seq)
	}
	c := signer.Latest()
	if c == nil || c.Size < last {
		if c, err = signer.Sign(ctx); err != nil {
			return nil, err
		}
	}
	r, err := transparency.BuildReceipt(ctx, l, c, seqs)
	if err != nil {
		return nil, err
	}
	// The policy versions in force over the file, from its first event.
	if pl, ok := store.(transparency.PolicyLog); ok {
		since := time.Now()
		for i := range evs {
			if evs[i].Recorded.Before(since) {
				since = evs[i].Recorded
			}
		}
		if err := transparency.AddPolicies(ctx, l, pl, c, r, since); err != nil {
			return nil, err
		}
	}
	return r, nil
}
