package seal

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"hash"
	"sync"

	"credo/internal/storecore"
)

// b32 is lowercase base32 without padding: pseudonyms are plain ASCII.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// hasher computes the keyed hashes of one lookup secret.
type hasher struct {
	pool sync.Pool
}

func newHasher(secret []byte) *hasher {
	key := append([]byte(nil), secret...)
	return &hasher{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

func (h *hasher) sum(tag string, parts ...string) string {
	m := h.pool.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(tag))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	var buf [sha256.Size]byte
	s := m.Sum(buf[:0])
	h.pool.Put(m)
	return b32.EncodeToString(s[:16])
}

// Pseudonym returns the pseudonym a sealed store knows a canonical
// subject identifier by: a kind tag ("p~" person, "o~" organisation, "u~"
// unknown) and the keyed hash of the identifier.
func (h *hasher) Pseudonym(id string) string {
	tag := "u~"
	switch storecore.SubjectKind(id) {
	case "person":
		tag = "p~"
	case "org":
		tag = "o~"
	}
	return tag + h.sum("subject", id)
}

// CaseRef returns the keyed hash a sealed store keeps of an authority's
// case reference (with the authority, the record's identity).
func (h *hasher) CaseRef(authority, caseRef string) string {
	return "c~" + h.sum("case", authority, caseRef)
}

// IsPseudonym reports whether s has the form of a pseudonym.
func IsPseudonym(s string) bool {
	return len(s) > 2 && s[1] == '~' && (s[0] == 'p' || s[0] == 'o' || s[0] == 'u')
}

// dataKey is a subject's unwrapped data key, ready to seal and open.
type dataKey struct {
	id    string // the canonical identifier
	aead  cipher.AEAD
	nonce sync.Pool // HMACs under the key that derives deterministic nonces
}

func newDataKey(raw []byte) (*dataKey, error) {
	a, err := newGCM(raw)
	if err != nil {
		return nil, err
	}
	nk := mac(raw, "credo nonce")
	k := &dataKey{aead: a}
	k.nonce.New = func() any { return hmac.New(sha256.New, nk) }
	return k, nil
}

func randomKey() ([]byte, error) {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	return k, err
}

const blobVersion = 1

// seal encrypts plaintext with a nonce derived from the plaintext and aad
// (first 12 bytes of HMAC-SHA256): the same plaintext gives the same
// bytes, so that re-filing an identical record is recognised as such and
// the log's encoding stays canonical.
func (k *dataKey) seal(aad, plain []byte) []byte {
	m := k.nonce.Get().(hash.Hash)
	m.Reset()
	m.Write(aad)
	m.Write([]byte{0})
	m.Write(plain)
	var sum [sha256.Size]byte
	nonce := m.Sum(sum[:0])[:k.aead.NonceSize()]
	k.nonce.Put(m)
	out := make([]byte, 1, 1+len(nonce)+len(plain)+k.aead.Overhead())
	out[0] = blobVersion
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plain, aad)
}

var errOpen = errors.New("sealed data cannot be opened with this key")

func (k *dataKey) open(aad, blob []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(blob) < 1+n+k.aead.Overhead() || blob[0] != blobVersion {
		return nil, errOpen
	}
	p, err := k.aead.Open(nil, blob[1:1+n], blob[1+n:], aad)
	if err != nil {
		return nil, errOpen
	}
	return p, nil
}
