package seal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"testing"
)

// TestE07SealFormat: the keyed hashes and seals are the bytes of the
// format existing registries hold (format v1, written out here the plain
// way), so that making them cheaper changes no pseudonym and no
// ciphertext. TestSealFormatV2 pins the format new registries use.
func TestE07SealFormat(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	h := newHasher(secret, formatV1)
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
			if got, want := h.sum(128, c[0], c[1:]...), ref(c[0], c[1:]...); got != want {
				t.Fatalf("sum%q = %s, want %s", c, got, want)
			}
		}
	}
	if p := h.Pseudonym("110101199003071234"); p[2:] != ref("subject", "110101199003071234") || !IsPseudonym(p) {
		t.Errorf("pseudonym %s", p)
	}
	// The bytes, computed apart (Python's hmac and base32).
	if p, c := h.Pseudonym("110101199003071234"), h.CaseRef("court.test", "(2025)京0101执1号"); p[2:] != "4ogynmknmvf3xhmspqruzix3zq" || c != "c~2havp5m3f5cpprf3pmw2vlw7g4" {
		t.Errorf("v1: pseudonym %s, case %s", p, c)
	}
	// A record's personal fields: all ten, each after its length.
	pl := personal{CaseRef: "c", EvidenceURI: "", Name: "n"}
	if got, want := pl.encode(false), []byte{1, 'c', 0, 1, 'n', 0, 0, 0, 0, 0, 0, 0}; !bytes.Equal(got, want) {
		t.Errorf("v1 fields %x, want %x", got, want)
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

// TestSealFormatV2: the format new registries are sealed in. Subject
// pseudonyms are the first 100 bits of the keyed hash (20 base32
// characters), case references the first 80 (16): the v1 hashes cut short,
// written out here the plain way and as bytes computed apart. A seal's
// personal fields leave out their trailing empty fields, and read back
// the same as v1's ten.
func TestSealFormatV2(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	h := newHasher(secret, formatV2)
	ref := func(bits int, tag string, parts ...string) string {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(tag))
		for _, p := range parts {
			m.Write([]byte{0})
			m.Write([]byte(p))
		}
		sum := m.Sum(nil)
		b := sum[:(bits+7)/8]
		if bits%8 != 0 {
			b[len(b)-1] &= byte(0xff << (8 - bits%8))
		}
		return b32.EncodeToString(b)[:(bits+4)/5]
	}
	long := strings.Repeat("案", 200)
	for _, c := range [][]string{{"subject", "110101199003071234"}, {"case", "court.test", "(2025)京0101执1号"}, {"case", "", ""}, {"subject", long}} {
		for _, bits := range []int{80, 100, 128, 64, 65, 99} {
			if got, want := h.sum(bits, c[0], c[1:]...), ref(bits, c[0], c[1:]...); got != want {
				t.Fatalf("sum(%d)%q = %s, want %s", bits, c, got, want)
			}
		}
	}
	p, cr := h.Pseudonym("110101199003071234"), h.CaseRef("court.test", "(2025)京0101执1号")
	if p[2:] != "4ogynmknmvf3xhmspqru" || cr != "c~2havp5m3f5cpprf3" || !IsPseudonym(p) {
		t.Errorf("v2: pseudonym %s, case %s", p, cr)
	}

	for _, c := range []struct {
		pl   personal
		want []byte
	}{
		{personal{CaseRef: "c", Name: "n"}, []byte{1, 'c', 0, 1, 'n'}},
		{personal{CaseRef: "c"}, []byte{1, 'c'}},
		{personal{}, []byte{}},
		{personal{Reason: "r"}, []byte{0, 0, 0, 1, 'r'}},
		{personal{OrgName: "o"}, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 'o'}},
	} {
		got := c.pl.encode(true)
		if !bytes.Equal(got, c.want) {
			t.Errorf("v2 fields of %+v: %x, want %x", c.pl, got, c.want)
		}
		for _, b := range [][]byte{got, c.pl.encode(false)} {
			var back personal
			if !back.decode(b) || back != c.pl {
				t.Errorf("decode %x: %+v, want %+v", b, back, c.pl)
			}
		}
	}
	var pl personal
	for _, bad := range [][]byte{{2, 'c'}, {1, 'c', 5}, bytes.Repeat([]byte{0}, 11)} {
		if pl.decode(bad) {
			t.Errorf("decode %x: accepted", bad)
		}
	}
}
