package seal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"testing"
)

// TestE07SealFormat: the keyed hashes and seals are the bytes of the
// format existing registries hold (written out here the plain way), so
// that making them cheaper changes no pseudonym and no ciphertext.
func TestE07SealFormat(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	h := newHasher(secret)
	ref := func(tag string, parts ...string) string {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(tag))
		for _, p := range parts {
			m.Write([]byte{0})
			m.Write([]byte(p))
		}
		return b32.EncodeToString(m.Sum(nil)[:16])
	}
	long := strings.Repeat("案", 200) // longer than the scratch buffer
	for _, c := range [][]string{{"subject", "110101199003071234"}, {"case", "court.test", "(2025)京0101执1号"}, {"case", "", ""}, {"subject", long}} {
		for range 2 { // a pooled HMAC gives the same again
			if got, want := h.sum(c[0], c[1:]...), ref(c[0], c[1:]...); got != want {
				t.Fatalf("sum%q = %s, want %s", c, got, want)
			}
		}
	}
	if p := h.Pseudonym("110101199003071234"); p[2:] != ref("subject", "110101199003071234") || !IsPseudonym(p) {
		t.Errorf("pseudonym %s", p)
	}

	raw := bytes.Repeat([]byte{9}, 32)
	k, err := newDataKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := newGCM(raw)
	nk := mac(raw, "credo nonce")
	for _, plain := range [][]byte{nil, []byte("x"), []byte(long)} {
		aad := []byte("credo record\x00p~abc")
		m := hmac.New(sha256.New, nk)
		m.Write(aad)
		m.Write([]byte{0})
		m.Write(plain)
		nonce := m.Sum(nil)[:12]
		want := a.Seal(append([]byte{blobVersion}, nonce...), nonce, plain, aad)
		for range 2 {
			got := k.seal(aad, plain)
			if !bytes.Equal(got, want) {
				t.Fatalf("seal of %d bytes:\n%x\nwant\n%x", len(plain), got, want)
			}
			if back, err := k.open(aad, got); err != nil || !bytes.Equal(back, plain) {
				t.Fatalf("open: %q %v", back, err)
			}
		}
	}
}
