package transparency

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"credo"
)

// A witness cosigns checkpoints in the C2SP tlog-cosignature format
// (cosignature/v1): a signed-note signature whose key ID is
// SHA-256(name || 0x0A || 0x04 || public key)[:4] and whose signature is
// an 8-byte big-endian timestamp followed by the Ed25519 signature of
//
//	cosignature/v1
//	time <timestamp>
//	<the checkpoint body>
//
// golang.org/x/mod/sumdb/note carries these signatures (note.Sign,
// note.Open) through the Signer and Verifier below; the key is an
// ordinary Ed25519 signed-note key made by credo keygen, used under the
// cosignature algorithm.

const algCosignatureV1 = 0x04

func cosignatureKeyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', algCosignatureV1})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

func cosignedMessage(ts uint64, msg []byte) []byte {
	return append([]byte("cosignature/v1\ntime "+strconv.FormatUint(ts, 10)+"\n"), msg...)
}

// Cosigner is a witness's cosignature/v1 signer (a note.Signer).
type Cosigner struct {
	name string
	hash uint32
	priv ed25519.PrivateKey
	// Now is the clock of the timestamps (nil: time.Now).
	Now func() time.Time
}

func (c *Cosigner) Name() string    { return c.name }
func (c *Cosigner) KeyHash() uint32 { return c.hash }

// Sign returns timestamp || Ed25519(cosignature/v1 message).
func (c *Cosigner) Sign(msg []byte) ([]byte, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ts := uint64(now().Unix())
	sig := make([]byte, 8, 8+ed25519.SignatureSize)
	binary.BigEndian.PutUint64(sig, ts)
	return append(sig, ed25519.Sign(c.priv, cosignedMessage(ts, msg))...), nil
}

// VerifierKey is the cosignature verifier key: name+hash+base64(0x04||pub).
func (c *Cosigner) VerifierKey() string {
	pub := c.priv.Public().(ed25519.PublicKey)
	return fmt.Sprintf("%s+%08x+%s", c.name, c.hash, base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, pub...)))
}

// ReadCosigner reads a witness's private key file (credo keygen, 0600).
func ReadCosigner(path string) (*Cosigner, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "witness key: %v", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, credo.Errorf(credo.EINVALID, "witness key %s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	c, err := NewCosigner(string(b))
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "witness key %s: %v", path, err)
	}
	return c, nil
}

// NewCosigner returns the cosigner of an Ed25519 signed-note private key
// ("PRIVATE+KEY+name+hash+base64(0x01||seed)").
func NewCosigner(skey string) (*Cosigner, error) {
	parts := strings.SplitN(strings.TrimSpace(skey), "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return nil, fmt.Errorf("not a signed-note private key")
	}
	b, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(b) != 1+ed25519.SeedSize || b[0] != 1 {
		return nil, fmt.Errorf("not an Ed25519 signed-note private key")
	}
	priv := ed25519.NewKeyFromSeed(b[1:])
	name := parts[2]
	return &Cosigner{name: name, hash: cosignatureKeyHash(name, priv.Public().(ed25519.PublicKey)), priv: priv}, nil
}

// cosignatureVerifier verifies cosignature/v1 signatures.
type cosignatureVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

func (v *cosignatureVerifier) Name() string    { return v.name }
func (v *cosignatureVerifier) KeyHash() uint32 { return v.hash }
func (v *cosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(v.pub, cosignedMessage(binary.BigEndian.Uint64(sig), msg), sig[8:])
}

// ParseWitnessKey reads a witness's public key: a cosignature/v1
// verifier key (name+hash+base64(0x04||pub)), or the witness's Ed25519
// signed-note verifier key (credo keygen's output, alg 0x01), or a file
// holding either.
func ParseWitnessKey(keyOrFile string) (note.Verifier, error) {
	if v, err := parseWitnessKey(strings.TrimSpace(keyOrFile)); err == nil {
		return v, nil
	}
	b, err := os.ReadFile(keyOrFile)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "witness key %q is neither a verifier key nor a readable file", keyOrFile)
	}
	v, err := parseWitnessKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "witness key file %s: %v", keyOrFile, err)
	}
	return v, nil
}

func parseWitnessKey(vkey string) (note.Verifier, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 || parts[0] == "" {
		return nil, fmt.Errorf("malformed verifier key")
	}
	h, err1 := strconv.ParseUint(parts[1], 16, 32)
	key, err2 := base64.StdEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(parts[1]) != 8 || len(key) != 1+ed25519.PublicKeySize {
		return nil, fmt.Errorf("malformed verifier key")
	}
	pub := ed25519.PublicKey(bytes.Clone(key[1:]))
	switch key[0] {
	case algCosignatureV1:
		if uint32(h) != cosignatureKeyHash(parts[0], pub) {
			return nil, fmt.Errorf("verifier key hash does not match")
		}
	case 1: // the signed-note Ed25519 key of the same witness
		if _, err := note.NewVerifier(vkey); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown key algorithm %d", key[0])
	}
	return &cosignatureVerifier{name: parts[0], hash: cosignatureKeyHash(parts[0], pub), pub: pub}, nil
}

// Cosigned returns the names of the witnesses among ws whose
// cosignatures of the signed checkpoint msg verify (each once). A
// cosignature by a known witness that does not verify is an error.
func Cosigned(msg []byte, ws []note.Verifier) ([]string, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	n, err := note.Open(msg, note.VerifierList(ws...))
	if err != nil {
		if _, ok := err.(*note.UnverifiedNoteError); ok {
			return nil, nil
		}
		return nil, credo.Errorf(credo.EINVALID, "checkpoint cosignatures: %v", err)
	}
	var names []string
	seen := map[string]bool{}
	for _, s := range n.Sigs {
		if !seen[s.Name] {
			seen[s.Name] = true
			names = append(names, s.Name)
		}
	}
	return names, nil
}
