package seal

import (
	"bytes"
	"crypto/aes"
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

// hasher computes the keyed hashes of one lookup secret, cut to the
// lengths of the registry's format.
type hasher struct {
	pool        sync.Pool // of *macBuf
	subjectBits int       // of a pseudonym's hash
	caseBits    int       // of a case reference's hash
}

// macBuf is an HMAC with a scratch buffer: the message is assembled in it
// and written once, and the sum written after it, so that a keyed hash
// allocates nothing but its result.
type macBuf struct {
	h   hash.Hash
	buf []byte
}

func newHasher(secret []byte, f format) *hasher {
	key := append([]byte(nil), secret...)
	return &hasher{pool: sync.Pool{New: func() any { return &macBuf{h: hmac.New(sha256.New, key), buf: make([]byte, 0, 256)} }},
		subjectBits: f.subjectBits, caseBits: f.caseBits}
}

// sum returns the keyed hash of tag and parts, each part after a zero
// byte, as lowercase base32 of its first bits bits (the last character's
// unused bits zero): 128 bits give 26 characters, 100 give 20, 80 give 16.
func (h *hasher) sum(bits int, tag string, parts ...string) string {
	m := h.pool.Get().(*macBuf)
	b := append(m.buf[:0], tag...)
	for _, p := range parts {
		b = append(append(b, 0), p...)
	}
	m.h.Reset()
	m.h.Write(b)
	n := len(b)
	b = m.h.Sum(b)
	var in [sha256.Size]byte
	nb := (bits + 7) / 8
	copy(in[:], b[n:n+nb])
	if r := bits % 8; r != 0 {
		in[nb-1] &^= 0xff >> r // the bits past the first bits
	}
	var out [52]byte // base32 of 32 bytes, unpadded
	b32.Encode(out[:], in[:nb])
	m.buf = b[:0]
	h.pool.Put(m)
	return string(out[:(bits+4)/5])
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
	return tag + h.sum(h.subjectBits, "subject", id)
}

// CaseRef returns the keyed hash a sealed store keeps of an authority's
// case reference (with the authority, the record's identity).
func (h *hasher) CaseRef(authority, caseRef string) string {
	return "c~" + h.sum(h.caseBits, "case", authority, caseRef)
}

// IsPseudonym reports whether s has the form of a pseudonym.
func IsPseudonym(s string) bool {
	return len(s) > 2 && s[1] == '~' && (s[0] == 'p' || s[0] == 'o' || s[0] == 'u')
}

// dataKey is a subject's unwrapped data key, ready to seal and open. Its
// cipher is made on first use and lives as long as the dataKey: the
// store's key cache keeps only the raw key and the identifier (keyCache),
// and a scan of the facts, which only names subjects, never makes one.
type dataKey struct {
	id    string // the canonical identifier
	raw   []byte
	once  sync.Once
	a     cipher.AEAD
	nonce sync.Pool // *macBuf: HMACs under the key that derives deterministic nonces
}

func newDataKey(raw []byte) (*dataKey, error) {
	switch len(raw) {
	case 16, 24, 32:
	default:
		return nil, aes.KeySizeError(len(raw))
	}
	return &dataKey{raw: bytes.Clone(raw)}, nil
}

// aead returns the key's cipher, made on first use.
func (k *dataKey) aead() cipher.AEAD {
	k.once.Do(func() {
		k.a, _ = newGCM(k.raw) // the size was checked by newDataKey
		nk := mac(k.raw, "credo nonce")
		k.nonce.New = func() any { return &macBuf{h: hmac.New(sha256.New, nk)} }
	})
	return k.a
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
	a := k.aead()
	m := k.nonce.Get().(*macBuf)
	b := append(append(append(m.buf[:0], aad...), 0), plain...)
	m.h.Reset()
	m.h.Write(b)
	ns := a.NonceSize()
	out := make([]byte, 1, 1+sha256.Size+len(plain)+a.Overhead())
	out[0] = blobVersion
	out = m.h.Sum(out)[:1+ns] // the nonce: the first bytes of the HMAC
	m.buf = b[:0]
	k.nonce.Put(m)
	return a.Seal(out, out[1:1+ns], plain, aad)
}

var errOpen = errors.New("sealed data cannot be opened with this key")

func (k *dataKey) open(aad, blob []byte) ([]byte, error) { return openWith(k.aead(), aad, blob) }

// openWith opens a sealed blob with a cipher.
func openWith(a cipher.AEAD, aad, blob []byte) ([]byte, error) {
	n := a.NonceSize()
	if len(blob) < 1+n+a.Overhead() || blob[0] != blobVersion {
		return nil, errOpen
	}
	p, err := a.Open(nil, blob[1:1+n], blob[1+n:], aad)
	if err != nil {
		return nil, errOpen
	}
	return p, nil
}
