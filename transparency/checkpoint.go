package transparency

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"credo"
)

// Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin
// (its name, the signing key's name), the tree size (the number of
// events) and the tree's root hash.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// Text returns the checkpoint body: "origin\nsize\nbase64(root)\n".
func (c Checkpoint) Text() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Root[:]) + "\n"
}

// ParseCheckpoint parses a checkpoint body (extension lines after the
// root are allowed and ignored).
func ParseCheckpoint(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 || lines[0] == "" {
		return Checkpoint{}, fmt.Errorf("malformed checkpoint: want origin, size and root lines")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || lines[1] != strconv.FormatInt(n, 10) {
		return Checkpoint{}, fmt.Errorf("malformed checkpoint: bad tree size %q", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("malformed checkpoint: bad root hash %q", lines[2])
	}
	return Checkpoint{Origin: lines[0], Size: n, Root: tlog.Hash(h)}, nil
}

// Signed is a checkpoint and its signed note.
type Signed struct {
	Checkpoint
	// Note is the signed note: the checkpoint text, a blank line and the
	// signature lines.
	Note []byte
}

// SignCheckpoint signs c with s, whose name must be c's origin.
func SignCheckpoint(c Checkpoint, s note.Signer) (*Signed, error) {
	if s.Name() != c.Origin {
		return nil, fmt.Errorf("the key is named %q, the log's origin is %q", s.Name(), c.Origin)
	}
	msg, err := note.Sign(&note.Note{Text: c.Text()}, s)
	if err != nil {
		return nil, err
	}
	return &Signed{Checkpoint: c, Note: msg}, nil
}

// OpenCheckpoint verifies a signed checkpoint with the log's public key
// and returns it.
func OpenCheckpoint(msg []byte, v note.Verifier) (*Signed, error) {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "checkpoint signature does not verify with key %s: %v", v.Name(), err)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "%v", err)
	}
	if c.Origin != v.Name() {
		return nil, credo.Errorf(credo.EINVALID, "checkpoint is of log %q, the key of %q", c.Origin, v.Name())
	}
	return &Signed{Checkpoint: c, Note: bytes.Clone(msg)}, nil
}

// GenerateKey returns a new Ed25519 signing key named origin (the log's
// name) and its public verifier key, in the signed-note encodings
// ("PRIVATE+KEY+origin+..." and "origin+hash+key").
func GenerateKey(origin string) (skey, vkey string, err error) {
	if origin == "" || strings.ContainsAny(origin, "+ \t\n") {
		return "", "", credo.Errorf(credo.EINVALID, "log origin %q must be non-empty, without '+' or spaces", origin)
	}
	return note.GenerateKey(rand.Reader, origin)
}

// ReadSigner reads a private key file written by GenerateKey.
func ReadSigner(path string) (note.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "log key: %v", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, credo.Errorf(credo.EINVALID, "log key %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	s, err := note.NewSigner(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "log key %s: %v", path, err)
	}
	return s, nil
}

// ParseVerifier reads a public verifier key: the key itself
// ("origin+hash+key") or the name of a file holding it.
func ParseVerifier(keyOrFile string) (note.Verifier, error) {
	k := strings.TrimSpace(keyOrFile)
	if v, err := note.NewVerifier(k); err == nil {
		return v, nil
	}
	b, err := os.ReadFile(keyOrFile)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "public key %q is neither a verifier key nor a readable file", keyOrFile)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "public key file %s: %v", keyOrFile, err)
	}
	return v, nil
}
