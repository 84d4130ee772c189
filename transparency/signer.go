package transparency

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"credo"
)

// VerifierKey returns the public verifier key of a private key in the
// signed-note encoding ("PRIVATE+KEY+name+hash+base64(1||seed)").
func VerifierKey(skey string) (string, error) {
	parts := strings.SplitN(strings.TrimSpace(skey), "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", fmt.Errorf("not a signed-note private key")
	}
	b, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(b) != 1+ed25519.SeedSize || b[0] != 1 {
		return "", fmt.Errorf("not an Ed25519 signed-note private key")
	}
	pub := ed25519.NewKeyFromSeed(b[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// Signer is a registry's checkpoint signer: it signs a checkpoint of the
// log whenever the log has grown (at most once per interval), keeps the
// latest in memory for GET /checkpoint and in a file outside the
// database, and refuses to sign a log that does not extend the last
// checkpoint it signed.
type Signer struct {
	log      Log
	signer   note.Signer
	verifier note.Verifier
	vkey     string
	file     string
	logger   *slog.Logger

	mu     sync.Mutex // serialises signing
	latest atomic.Pointer[Signed]
	fault  atomic.Pointer[error]

	cosignMu  sync.Mutex // serialises collecting cosignatures
	witnesses []*WitnessPeer
	cosigned  *Signed // the latest checkpoint with its cosignatures

	// shared: where the log's checkpoints are kept for other nodes
	// (nil: not kept). A follower (signer nil) reads them from there.
	shared CheckpointStore
}

// NewSigner returns a signer of l's checkpoints with the private key
// skeyFile (written by credo keygen), keeping the last checkpoint in
// checkpointFile ("": none kept).
func NewSigner(l Log, skeyFile, checkpointFile string, logger *slog.Logger) (*Signer, error) {
	s, err := ReadSigner(skeyFile)
	if err != nil {
		return nil, err
	}
	raw, _ := os.ReadFile(skeyFile)
	vkey, err := VerifierKey(string(raw))
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "log key %s: %v", skeyFile, err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cs, _ := l.(CheckpointStore)
	return &Signer{log: l, signer: s, verifier: v, vkey: vkey, file: checkpointFile, logger: logger, shared: cs}, nil
}

// VerifierKey is the public key checkpoints verify with.
func (s *Signer) VerifierKey() string { return s.vkey }

// Verifier is the public key's verifier.
func (s *Signer) Verifier() note.Verifier { return s.verifier }

// Origin is the log's name in its checkpoints.
func (s *Signer) Origin() string { return s.verifier.Name() }

// Latest returns the latest signed checkpoint (nil before the first).
func (s *Signer) Latest() *Signed { return s.latest.Load() }

// Size is the tree size of the latest checkpoint (0 before the first).
func (s *Signer) Size() int64 {
	if c := s.latest.Load(); c != nil {
		return c.Size
	}
	return 0
}

// Fault is why the signer refuses the log (nil: none).
func (s *Signer) Fault() error {
	if e := s.fault.Load(); e != nil {
		return *e
	}
	return nil
}

func (s *Signer) setFault(err error) {
	s.fault.Store(&err)
	s.logger.Error("transparency: the log does not extend the last signed checkpoint: refusing to serve", "error", err.Error(), "checkpoint_file", s.file)
}

// Start checks that the log extends the checkpoint kept in the file (if
// any): on a divergence it records the fault (see Fault) and returns it.
// Then it signs the current log.
func (s *Signer) Start(ctx context.Context) error {
	if s.Follower() {
		_, err := s.Sign(ctx)
		return err
	}
	if s.file != "" {
		b, err := os.ReadFile(s.file)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return credo.Errorf(credo.EINTERNAL, "checkpoint file: %v", err)
		default:
			prev, err := OpenCheckpoint(b, s.verifier)
			if err != nil {
				err = credo.Errorf(credo.EINVALID, "checkpoint file %s: %v", s.file, credo.ErrorMessage(err))
				s.setFault(err)
				return err
			}
			if err := CheckExtends(ctx, s.log, prev.Checkpoint); err != nil {
				if _, ok := IsDivergence(err); ok {
					s.setFault(err)
				}
				return err
			}
			s.latest.Store(prev)
		}
	}
	_, err := s.Sign(ctx)
	return err
}

// Sign signs a checkpoint of the log as it stands, if it has grown since
// the latest (else it returns the latest), keeps it, and returns it.
func (s *Signer) Sign(ctx context.Context) (*Signed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.Fault(); err != nil {
		return nil, credo.Errorf(credo.EUNAVAILABLE, "%v", err)
	}
	if s.Follower() {
		return s.follow(ctx)
	}
	head, _, err := s.log.Head(ctx)
	if err != nil {
		return nil, err
	}
	prev := s.latest.Load()
	if prev != nil && head == prev.Size {
		return prev, nil
	}
	if prev != nil {
		// Never sign a log that does not extend the last checkpoint.
		if err := CheckExtends(ctx, s.log, prev.Checkpoint); err != nil {
			if _, ok := IsDivergence(err); ok {
				s.setFault(err)
			}
			return nil, err
		}
	}
	cp, err := Current(ctx, s.log, s.Origin())
	if err != nil {
		return nil, err
	}
	signed, err := SignCheckpoint(cp, s.signer)
	if err != nil {
		return nil, err
	}
	if s.file != "" {
		if err := writeFileAtomic(s.file, signed.Note); err != nil {
			return nil, credo.Errorf(credo.EINTERNAL, "keeping the checkpoint: %v", err)
		}
	}
	if s.shared != nil {
		// For the nodes that serve this log without signing it.
		if err := s.shared.PutCheckpoint(ctx, signed.Size, signed.Note); err != nil {
			return nil, err
		}
	}
	s.latest.Store(signed)
	return signed, nil
}

// Run signs a new checkpoint every interval while the log grows, until
// ctx ends.
func (s *Signer) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	s.Cosign(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.Fault() != nil {
			continue
		}
		if _, err := s.Sign(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("transparency: signing a checkpoint failed", "error", err.Error())
			continue
		}
		s.Cosign(ctx)
	}
}

// writeFileAtomic replaces path with data durably.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".checkpoint-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
