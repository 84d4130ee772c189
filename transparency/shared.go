package transparency

import (
	"context"
	"log/slog"

	"golang.org/x/mod/sumdb/note"

	"credo"
)

// CheckpointStore is a store that keeps the signed checkpoints of its
// log, so that several nodes serving one database agree: the signer
// writes each checkpoint it signs, the other nodes serve the latest
// (PostgreSQL's checkpoints table).
type CheckpointStore interface {
	PutCheckpoint(ctx context.Context, size int64, note []byte) error
	// LatestCheckpoint returns the signed note of the largest stored
	// checkpoint (nil: none yet).
	LatestCheckpoint(ctx context.Context) ([]byte, error)
}

// NewFollower returns a Signer that signs nothing: it serves the latest
// checkpoint the log's signer stored in cs (see CheckpointStore), once it
// verifies with vkey, the log's public key, and the log (the same
// database) extends it. Sign and Run refresh it.
func NewFollower(l Log, cs CheckpointStore, vkey string, logger *slog.Logger) (*Signer, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "log public key: %v", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Signer{log: l, verifier: v, vkey: vkey, logger: logger, shared: cs}, nil
}

// Follower reports whether s serves another node's checkpoints.
func (s *Signer) Follower() bool { return s.signer == nil }

// follow loads the latest stored checkpoint, if newer than the one held.
func (s *Signer) follow(ctx context.Context) (*Signed, error) {
	prev := s.latest.Load()
	b, err := s.shared.LatestCheckpoint(ctx)
	if err != nil || b == nil {
		return prev, err
	}
	c, err := OpenCheckpoint(b, s.verifier)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "stored checkpoint: %v", credo.ErrorMessage(err))
	}
	if prev != nil && c.Size <= prev.Size {
		return prev, nil
	}
	if err := CheckExtends(ctx, s.log, c.Checkpoint); err != nil {
		if _, ok := IsDivergence(err); ok {
			s.setFault(err)
		}
		return nil, err
	}
	s.latest.Store(c)
	return c, nil
}
