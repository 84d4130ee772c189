package synth

import (
	"time"

	"credo/ident"
)

// usccAlphabet lists the 31 USCC symbols in value order (no I, O, Z, S, V).
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// Registration authority and entity type (USCC characters 1-2) of the
// organisations generated, with their shares.
var orgTypes = []struct {
	code  string
	share float64
}{
	{"91", 0.66},  // market regulation: company
	{"92", 0.315}, // market regulation: individual business
	{"93", 0.01},  // market regulation: farmers' cooperative
	{"52", 0.015}, // civil affairs: private non-enterprise unit
}

// orgDistrictBias scales a district's population weight for business
// registrations: firms cluster in the central and business districts.
var orgDistrictBias = map[string]float64{
	"110101": 1.4, "110102": 1.4, "110105": 1.5, "110108": 1.5,
	"110109": 0.7, "110116": 0.7, "110117": 0.7, "110118": 0.7, "110119": 0.7,
}

// uscc2015 is when Unified Social Credit Codes (and organisation codes
// starting "MA" assigned with them) began: 1 October 2015.
var uscc2015 = daysFromCivil(2015, 10, 1)

// orgModel maps an organisation's index to a USCC without generating the
// others. The organisation code (characters 9-16) is derived from a keyed
// permutation of the index: "MA" and six USCC symbols for codes assigned
// since 2015, "MJ" and six for civil-affairs units, and eight digits for
// older codes. The three forms cannot collide (the first character differs
// or is a letter) and each is injective in the permuted index, so every
// organisation code, and hence every USCC, is unique.
type orgModel struct {
	n        int
	seed     uint64
	perm     feistel
	typeCum  []float64
	distCum  []float64
	endDay   int64 // civil day of the end of the window
	newShare float64
}

func newOrgModel(n int, seed uint64, end time.Time) (*orgModel, error) {
	if n > maxOrgs {
		return nil, invalidf("at most %d organisations, not %d", maxOrgs, n)
	}
	m := &orgModel{n: n, seed: seed}
	y, mo, d := end.Date()
	m.endDay = daysFromCivil(y, int(mo), d)
	if n > 0 {
		m.perm = newFeistel(uint64(n), seed, tagOrgPerm)
	}
	var tw, dw []float64
	for _, t := range orgTypes {
		tw = append(tw, t.share)
	}
	for _, code := range ident.BeijingDistricts {
		w, ok := districtPopulation[code]
		if !ok {
			w = 50
		}
		if b, ok := orgDistrictBias[code]; ok {
			w *= b
		}
		dw = append(dw, w)
	}
	m.typeCum, m.distCum = cumulative(tw), cumulative(dw)
	// Most market entities alive today were registered after 2015.
	if m.endDay-uscc2015 > 365 {
		m.newShare = 0.65
	}
	return m, nil
}

// maxOrgs keeps the eight-digit legacy organisation codes injective.
const maxOrgs = 50_000_000

// orgAttrs are what the generator needs to know about an organisation.
type orgAttrs struct {
	typ      string // USCC characters 1-2
	district int
	legacy   bool  // an organisation code from before 2015
	founded  int64 // civil day of registration
	code     uint64
}

func (m *orgModel) attrs(i int) orgAttrs {
	var r rng
	r.seed(m.seed, tagOrgAttr, uint64(i))
	a := orgAttrs{
		typ:      orgTypes[pick(m.typeCum, r.float())].code,
		district: pick(m.distCum, r.float()),
		code:     m.perm.perm(uint64(i)),
	}
	a.legacy = r.float() >= m.newShare || a.typ == "52" && r.float() < 0.3
	if a.legacy {
		// Registered between 1990 and September 2015 (or the window's end).
		lo, hi := daysFromCivil(1990, 1, 1), min(uscc2015, m.endDay-30)
		if hi <= lo {
			lo = hi - 365*30
		}
		a.founded = lo + int64(r.intn(int(hi-lo)))
	} else {
		lo, hi := uscc2015, m.endDay-30
		a.founded = lo + int64(r.intn(int(hi-lo)))
	}
	return a
}

// uscc formats the organisation's 18-character code.
func (a *orgAttrs) uscc() string {
	var b [18]byte
	b[0], b[1] = a.typ[0], a.typ[1]
	copy(b[2:8], ident.BeijingDistricts[a.district])
	x := a.code
	switch {
	case a.legacy && a.typ != "52":
		// Eight digits from a bijection of [0, 9e7): 10000000-99999999.
		v := (x*7919)%90_000_000 + 10_000_000
		for j := 15; j >= 8; j-- {
			b[j] = byte('0' + v%10)
			v /= 10
		}
	default:
		b[8], b[9] = 'M', 'A'
		if a.typ == "52" {
			b[9] = 'J'
		}
		for j := 15; j >= 10; j-- {
			b[j] = usccAlphabet[x%31]
			x /= 31
		}
	}
	b[16] = mustCheck(ident.OrgCodeCheck(b[8:16]))
	b[17] = mustCheck(ident.USCCCheck(b[:17]))
	return string(b[:])
}

// mustCheck returns a check character computed from characters the
// generator chose itself (an error is a bug in the generator).
func mustCheck(c byte, err error) byte {
	if err != nil {
		panic("synth: " + err.Error())
	}
	return c
}
