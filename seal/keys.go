package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"credo"
)

// The environment variables that give the operator's secrets (hex or
// base64 of 32 bytes each), instead of a keys file.
const (
	EnvKEK    = "CREDO_KEK"
	EnvLookup = "CREDO_LOOKUP_SECRET"
)

// Keys are the secrets the operator supplies: the key-encryption key that
// wraps every subject's data key, and the lookup secret of the keyed hash
// that turns identifiers and case references into the pseudonyms the
// store knows them by. They are never stored in the registry.
type Keys struct {
	KEK    [32]byte
	Lookup [32]byte
}

// NewKeys returns fresh random keys.
func NewKeys() (*Keys, error) {
	var k Keys
	if _, err := rand.Read(k.KEK[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(k.Lookup[:]); err != nil {
		return nil, err
	}
	return &k, nil
}

func mac(key []byte, parts ...string) []byte {
	h := hmac.New(sha256.New, key)
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

// KEKID names the key-encryption key without revealing it.
func (k *Keys) KEKID() string { return hex.EncodeToString(mac(k.KEK[:], "credo kek id")[:8]) }

// KEKCheck and LookupCheck are the check values a sealed registry records
// of the secrets it was sealed with: HMACs of a constant, which tell a
// wrong key from the right one and nothing else.
func (k *Keys) KEKCheck() string { return hex.EncodeToString(mac(k.KEK[:], "credo kek check")[:16]) }

// LookupCheck: see KEKCheck.
func (k *Keys) LookupCheck() string {
	return hex.EncodeToString(mac(k.Lookup[:], "credo lookup check")[:16])
}

// SnapshotKey is the key the decision table's snapshot file (which holds
// identifiers) is encrypted under, derived from the key-encryption key.
func (k *Keys) SnapshotKey() []byte { return mac(k.KEK[:], "credo table snapshot") }

// Wrapper returns the key-encryption key as a KeyWrapper.
func (k *Keys) Wrapper() KeyWrapper {
	a, _ := newGCM(k.KEK[:])
	return &localKEK{id: k.KEKID(), aead: a}
}

// KeyWrapper wraps and unwraps data keys under a key-encryption key: the
// keys file's (LocalKEK), or a key management service's.
type KeyWrapper interface {
	// ID names the key-encryption key (stored beside each wrapped key).
	ID() string
	Wrap(dataKey, aad []byte) ([]byte, error)
	Unwrap(wrapped, aad []byte) ([]byte, error)
}

type localKEK struct {
	id   string
	aead cipher.AEAD
}

func (l *localKEK) ID() string { return l.id }

func (l *localKEK) Wrap(dataKey, aad []byte) ([]byte, error) {
	nonce := make([]byte, l.aead.NonceSize(), l.aead.NonceSize()+len(dataKey)+l.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return l.aead.Seal(nonce, nonce, dataKey, aad), nil
}

func (l *localKEK) Unwrap(wrapped, aad []byte) ([]byte, error) {
	n := l.aead.NonceSize()
	if len(wrapped) < n+l.aead.Overhead() {
		return nil, errors.New("wrapped key too short")
	}
	return l.aead.Open(nil, wrapped[:n], wrapped[n:], aad)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// parseSecret reads 32 bytes given as hex or base64 (standard or URL,
// padded or not).
func parseSecret(name, s string) ([32]byte, error) {
	var out [32]byte
	s = strings.TrimSpace(s)
	var b []byte
	var err error
	if len(s) == 64 {
		b, err = hex.DecodeString(s)
	} else {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err = enc.DecodeString(s); err == nil {
				break
			}
		}
	}
	if err != nil || len(b) != 32 {
		return out, fmt.Errorf("%s must be 32 bytes in hex (64 digits) or base64", name)
	}
	copy(out[:], b)
	return out, nil
}

// FromEnv returns the keys given by $CREDO_KEK and $CREDO_LOOKUP_SECRET;
// ok is false when neither is set.
func FromEnv() (k *Keys, ok bool, err error) {
	kek, lookup := os.Getenv(EnvKEK), os.Getenv(EnvLookup)
	if kek == "" && lookup == "" {
		return nil, false, nil
	}
	if kek == "" || lookup == "" {
		return nil, true, credo.Errorf(credo.EINVALID, "$%s and $%s go together: give both", EnvKEK, EnvLookup)
	}
	k = &Keys{}
	if k.KEK, err = parseSecret("$"+EnvKEK, kek); err != nil {
		return nil, true, credo.Errorf(credo.EINVALID, "%v", err)
	}
	if k.Lookup, err = parseSecret("$"+EnvLookup, lookup); err != nil {
		return nil, true, credo.Errorf(credo.EINVALID, "%v", err)
	}
	return k, true, nil
}

// Load reads a keys file: lines NAME=VALUE with CREDO_KEK and
// CREDO_LOOKUP_SECRET (hex or base64 of 32 bytes), '#' comments. Like ssh
// with a private key, it refuses a file that its group or others may read
// or write.
func Load(path string) (*Keys, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, credo.FieldErrorf("--keys", "%v", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, credo.FieldErrorf("--keys", "%s is accessible by group or others (mode %04o): keys must be private, chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, credo.FieldErrorf("--keys", "%v", err)
	}
	var k Keys
	var got [2]bool
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, credo.FieldErrorf("--keys", "%s:%d: expected NAME=VALUE", path, i+1)
		}
		var dst *[32]byte
		switch strings.TrimSpace(name) {
		case EnvKEK:
			dst, got[0] = &k.KEK, true
		case EnvLookup:
			dst, got[1] = &k.Lookup, true
		default:
			return nil, credo.FieldErrorf("--keys", "%s:%d: unknown name %q (%s or %s)", path, i+1, name, EnvKEK, EnvLookup)
		}
		if *dst, err = parseSecret(name, val); err != nil {
			return nil, credo.FieldErrorf("--keys", "%s:%d: %v", path, i+1, err)
		}
	}
	if !got[0] || !got[1] {
		return nil, credo.FieldErrorf("--keys", "%s must give both %s and %s", path, EnvKEK, EnvLookup)
	}
	return &k, nil
}

// Write creates a keys file with mode 0600; it refuses to overwrite one.
func (k *Keys) Write(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return credo.Errorf(credo.ECONFLICT, "keys file %s exists already: not overwritten", path)
		}
		return err
	}
	_, err = fmt.Fprintf(f, "# Credo registry keys: keep them secret, and away from the registry in production.\n# Losing them loses every subject's personal data; leaking them exposes it.\n%s=%s\n%s=%s\n",
		EnvKEK, base64.StdEncoding.EncodeToString(k.KEK[:]), EnvLookup, base64.StdEncoding.EncodeToString(k.Lookup[:]))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
