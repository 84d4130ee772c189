package ident_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"credo"
	"credo/ident"
)

var fuzzSeeds = []string{
	"11010519491231002X", "11010519491231002x", "440524188001010014",
	"110105491231002", "310104650315123", "110105200002290021",
	"914403001922038216", "914403001922038217", "91110105ma01abcd5f", "9144030010000018XH",
	"91440300192203823C", "990101198001010016",
	"P:CHN:E12345678", "p:usa:a1234b", "P:XXX:E12345678", "P:CHN:E12:45678",
	"", " ", "P:", "1101A519491231002X", "11010519800101001é", "11\xff10519491231002X",
}

// FuzzParse checks that Parse never panics, rejects only with EINVALID
// *credo.Error values, and that an accepted ID's canonical form parses to
// the same ID (apart from Legacy for a converted 15-digit RIC) and is a
// fixed point.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	lenient := ident.Parser{LegacyUSCC: map[string]bool{
		"914403001922038217": true, "91440300192203823C": true, "91110105MA01ABCD5G": true,
	}}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range []*ident.Parser{{}, &lenient} {
			id, err := p.Parse(s)
			if err != nil {
				var e *credo.Error
				if !errors.As(err, &e) || e.Code != credo.EINVALID || e.Op != "ident" || e.Message == "" {
					t.Fatalf("Parse(%q) error %#v is not an EINVALID ident error", s, err)
				}
				continue
			}
			again, err := p.Parse(id.Canonical)
			if err != nil {
				t.Fatalf("Parse(%q) accepted as %q, which is rejected: %v", s, id.Canonical, err)
			}
			want := id
			if id.Scheme == ident.RIC && id.Legacy {
				want.Legacy = false // the 18-character form is not itself legacy
			}
			if again != want {
				t.Fatalf("Parse(%q) = %+v, but Parse(%q) = %+v", s, id, id.Canonical, again)
			}
			if again.Canonical != id.Canonical {
				t.Fatalf("canonical of %q is not a fixed point: %q -> %q", s, id.Canonical, again.Canonical)
			}
			checkID(t, s, id)
		}
	})
}

// checkID checks the invariants of an accepted ID.
func checkID(t *testing.T, in string, id ident.ID) {
	t.Helper()
	switch {
	case id.Scheme == ident.RIC && strings.HasPrefix(id.Canonical, "RIC:"):
		id.Canonical = id.Canonical[4:]
	case id.Scheme == ident.USCC && strings.HasPrefix(id.Canonical, "USCC:"):
		id.Canonical = id.Canonical[5:]
	}
	switch id.Scheme {
	case ident.RIC:
		if len(id.Canonical) != 18 || id.Kind != credo.Person || !id.HasBirth() || id.Sex == credo.SexUnknown ||
			id.Region != id.Canonical[:6] || id.Country != "CHN" || id.Province == "" {
			t.Fatalf("Parse(%q): bad RIC %+v", in, id)
		}
		if got := id.Birth.Format("20060102"); got != id.Canonical[6:14] {
			t.Fatalf("Parse(%q): birth %s does not match %s", in, got, id.Canonical)
		}
	case ident.USCC:
		if len(id.Canonical) != 18 || id.Kind != credo.Org || id.HasBirth() || id.Canonical != strings.ToUpper(id.Canonical) ||
			id.Region != id.Canonical[2:8] || id.OrgCode != id.Canonical[8:17] || (id.Province == "") != (id.Region == "100000") {
			t.Fatalf("Parse(%q): bad USCC %+v", in, id)
		}
	case ident.Passport:
		if !strings.HasPrefix(id.Canonical, "P:"+id.Country+":") || id.Kind != credo.Person || id.Region != "" ||
			id.Canonical != strings.ToUpper(id.Canonical) {
			t.Fatalf("Parse(%q): bad passport %+v", in, id)
		}
	default:
		t.Fatalf("Parse(%q): scheme %v", in, id.Scheme)
	}
}

// refRICCheck is an independent ISO 7064 MOD 11-2 implementation in its
// recursive form: p = 2(p + d) mod 11, check value (12 - p) mod 11.
func refRICCheck(digits string) byte {
	p := 0
	for i := 0; i < len(digits); i++ {
		p = (p + int(digits[i]-'0')) * 2 % 11
	}
	c := (12 - p) % 11
	if c == 10 {
		return 'X'
	}
	return byte('0' + c)
}

// FuzzRIC checks that for any 17-digit prefix the computed check character
// matches an independent implementation and is never rejected as a check
// failure, and that a structurally valid prefix with its check always parses.
func FuzzRIC(f *testing.F) {
	f.Add([]byte("11010519491231002"), uint8(0), uint16(1949), uint8(12), uint8(31), uint16(2))
	f.Add([]byte("44052418800101001"), uint8(18), uint16(1880), uint8(1), uint8(1), uint16(1))
	f.Add([]byte{}, uint8(255), uint16(0), uint8(2), uint8(29), uint16(999))
	var p ident.Parser
	f.Fuzz(func(t *testing.T, raw []byte, prov uint8, year uint16, month, day uint8, seq uint16) {
		// Any 17 digits.
		var b [17]byte
		for i := range b {
			b[i] = '0'
			if i < len(raw) {
				b[i] = '0' + raw[i]%10
			}
		}
		prefix := string(b[:])
		check, err := ident.RICCheck(prefix)
		if err != nil {
			t.Fatalf("RICCheck(%q): %v", prefix, err)
		}
		if want := refRICCheck(prefix); check != want {
			t.Fatalf("RICCheck(%q) = %c, reference %c", prefix, check, want)
		}
		if _, err := p.ParseRIC(prefix + string(check)); err != nil && strings.Contains(err.Error(), "check character") {
			t.Fatalf("ParseRIC(%q): %v", prefix+string(check), err)
		}

		// A structurally valid prefix: known province, real date, sequence 001-999.
		y := 1850 + int(year)%251
		m := time.Month(1 + int(month)%12)
		d := 1 + int(day)%time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
		birth := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		sq := 1 + int(seq)%999
		regions := ident.CurrentRegions()
		region := regions[(int(prov)*7919+int(raw0(raw)))%len(regions)]
		valid := region + birth.Format("20060102") + threeDigits(sq)
		check, err = ident.RICCheck(valid)
		if err != nil {
			t.Fatal(err)
		}
		id, err := p.ParseRIC(valid + string(check))
		if err != nil {
			t.Fatalf("ParseRIC(%q): %v", valid+string(check), err)
		}
		wantSex := credo.Female
		if sq%2 == 1 {
			wantSex = credo.Male
		}
		if !id.Birth.Equal(birth) || id.Sex != wantSex || id.Region != region || id.Scheme != ident.RIC || id.Legacy {
			t.Fatalf("ParseRIC(%q) = %+v", valid+string(check), id)
		}
	})
}

func threeDigits(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

func raw0(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}
