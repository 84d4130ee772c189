package ident

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"credo"
)

// usccAlphabet lists the 31 USCC symbols in value order (no I, O, Z, S, V).
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccWeights are the GB 32100 weights 3^(i-1) mod 31 for characters 1-17.
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// orgWeights are the GB 11714 weights for the 8 organisation-code characters.
var orgWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// usccValue maps a byte to its USCC value, or -1; lowercase letters map like
// their uppercase forms.
var usccValue = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for v := 0; v < len(usccAlphabet); v++ {
		c := usccAlphabet[v]
		t[c] = int8(v)
		if 'A' <= c && c <= 'Z' {
			t[c+'a'-'A'] = int8(v)
		}
	}
	return t
}()

// usccCharError describes character i of s that is not in the USCC alphabet.
func usccCharError(s string, i int) error {
	pos, d := charAt(s, i)
	switch s[i] {
	case 'I', 'O', 'Z', 'S', 'V', 'i', 'o', 'z', 's', 'v':
		return invalidf("character %d is %s, not in the USCC alphabet (I, O, Z, S, V are never used)", pos, d)
	}
	return invalidf("character %d is %s, not in the USCC alphabet (digits and uppercase letters except I, O, Z, S, V)", pos, d)
}

// USCCCheck computes the GB 32100 check character of a Unified Social
// Credit Code from its first 17 characters (lowercase letters are
// accepted), given as a string or a byte slice (not retained; no
// allocation unless it fails).
func USCCCheck[S ~string | ~[]byte](first17 S) (byte, error) {
	if len(first17) == 17 {
		ok := true
		for i := 0; i < 17; i++ {
			ok = ok && usccValue[first17[i]] >= 0
		}
		if ok {
			return usccCheck(first17), nil
		}
	}
	s := string(first17)
	if n := utf8.RuneCountInString(s); n != 17 {
		return 0, invalidf("USCC prefix must have 17 characters, got %d", n)
	}
	for i := 0; i < 17; i++ {
		if usccValue[s[i]] < 0 {
			return 0, usccCharError(s, i)
		}
	}
	return 0, invalidf("USCC prefix must have 17 characters")
}

// usccCheck computes the check character of 17 valid USCC characters.
func usccCheck[S ~string | ~[]byte](s S) byte {
	sum := 0
	for i, w := range usccWeights {
		sum += int(usccValue[s[i]]) * w
	}
	return usccAlphabet[(31-sum%31)%31]
}

// orgValue is the GB 11714 value of c: digits 0-9, letters A=10 ... Z=35,
// or -1.
func orgValue(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case 'A' <= c && c <= 'Z':
		return int(c-'A') + 10
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 10
	}
	return -1
}

// OrgCodeCheck computes the GB 11714 check character ('0'-'9' or 'X') of
// an organisation code from its first 8 characters (digits and letters),
// given as a string or a byte slice (not retained).
func OrgCodeCheck[S ~string | ~[]byte](first8 S) (byte, error) {
	if len(first8) == 8 {
		ok := true
		for i := 0; i < 8; i++ {
			ok = ok && orgValue(first8[i]) >= 0
		}
		if ok {
			return orgCheck(first8), nil
		}
	}
	s := string(first8)
	if n := utf8.RuneCountInString(s); n != 8 {
		return 0, invalidf("organisation code prefix must have 8 characters, got %d", n)
	}
	for i := 0; i < 8; i++ {
		if orgValue(s[i]) < 0 {
			pos, d := charAt(s, i)
			return 0, invalidf("character %d is %s, expected a digit or a letter", pos, d)
		}
	}
	return 0, invalidf("organisation code prefix must have 8 characters")
}

// orgCheck computes the check character of 8 valid organisation-code
// characters: C = 11 - (S mod 11), with 10 written X and 11 written 0.
func orgCheck[S ~string | ~[]byte](s S) byte {
	sum := 0
	for i, w := range orgWeights {
		sum += orgValue(s[i]) * w
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

// usccStructure checks what no legacy list can excuse: 18 characters of the
// USCC alphabet, a known registration department and institution category
// (characters 1-2), and characters 3-8 a GB/T 2260 division code (or
// 100000, registered nationally). It returns the province name ("" for a
// national registration) and the stage the reading reached.
func usccStructure(s string, explain bool) (string, int, error) {
	if n := utf8.RuneCountInString(s); n != 18 {
		if !explain {
			return "", stageNone, errQuiet
		}
		return "", stageNone, invalidf("USCC must have 18 characters, got %d", n)
	}
	// Every valid character is ASCII, so the first bad byte is found before
	// any multi-byte character is passed over.
	for i := 0; i < 18; i++ {
		if usccValue[s[i]] < 0 {
			if fullWidthAt(s, i) {
				if !explain {
					return "", stageNone, errQuiet
				}
				return "", stageNone, fullWidthError(s)
			}
			if !explain {
				return "", stageNone, errQuiet
			}
			return "", stageNone, usccCharError(s, i)
		}
	}
	dept, cat := upper(s[0]), upper(s[1])
	if usccCategories[dept] == 0 {
		if !explain {
			return "", stageNone, errQuiet
		}
		return "", stageNone, invalidf("character 1 is %q, not a registration department of GB 32100 (1-9, A, N, Y)", dept)
	}
	if !knownUSCCType(dept, cat) {
		d, _ := USCCTypeNames(dept, '9')
		if d == "" {
			d, _ = USCCTypeNames(dept, '1')
		}
		if !explain {
			return "", stageNone, errQuiet
		}
		return "", stageNone, invalidf("character 2 is %q, not an institution category of registration department %c (%s)", cat, dept, d)
	}
	for i := 2; i < 8; i++ {
		if !isDigit(s[i]) {
			pos, d := charAt(s, i)
			if !explain {
				return "", stageRICProv, errQuiet
			}
			return "", stageRICProv, invalidf("character %d is %s, expected a digit (characters 3-8 are the region code)", pos, d)
		}
	}
	if s[2:8] == usccNational {
		return "", stageComplete, nil
	}
	province := provinceCode(s[2:4])
	if province == "" {
		if !explain {
			return "", stageRICProv, errQuiet
		}
		return "", stageRICProv, invalidf("unknown province code %s in region %s", s[2:4], s[2:8])
	}
	if lookupDivision(s[2:8]) == nil {
		if !explain {
			return "", stageRICReg, errQuiet
		}
		return "", stageRICReg, invalidf("unknown region code %s (not a GB/T 2260 division code)", s[2:8])
	}
	return province, stageComplete, nil
}

// upper uppercases an ASCII letter.
func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// ParseUSCC validates a Unified Social Credit Code (lowercase is accepted
// and uppercased; surrounding white space is trimmed).
//
// Character 17 is the check character of the embedded GB 11714
// organisation code (characters 9-17); it is '0'-'9' or 'X', all of which
// are in the USCC alphabet (which has W, X and Y), so any organisation code
// check is representable and no special case is needed. A code that fails
// the USCC check character or the organisation-code check is accepted only
// if it is in p.LegacyUSCC, and then with Legacy set.
func (p *Parser) ParseUSCC(s string) (ID, error) {
	id, _, err := p.readUSCC(strings.TrimSpace(s), true)
	return id, err
}

// readUSCC is ParseUSCC without trimming that also reports the stage the
// reading reached. Unless explain is set it fails with errQuiet, without
// building a message (no allocation).
func (p *Parser) readUSCC(s string, explain bool) (ID, int, error) {
	province, stage, err := usccStructure(s, explain)
	if err != nil {
		return ID{}, stage, err
	}
	canonical := upperASCII(s)
	var checkErr error
	if want := usccCheck(canonical); canonical[17] != want && !explain {
		checkErr = errQuiet
	} else if canonical[17] != want {
		checkErr = invalidf("check character is %c, expected %c", canonical[17], want)
	} else if want := orgCheck(canonical[8:16]); canonical[16] != want && !explain {
		checkErr = errQuiet
	} else if canonical[16] != want {
		checkErr = invalidf("organisation code check (character 17) is %c, expected %c", canonical[16], want)
	}
	legacy := false
	if checkErr != nil {
		if p == nil || !p.LegacyUSCC[canonical] {
			return ID{}, stageComplete, checkErr
		}
		legacy = true
	}
	provCode := canonical[2:4]
	if province == "" {
		provCode = ""
	}
	return ID{
		Canonical:    canonical,
		Scheme:       USCC,
		Kind:         credo.Org,
		Region:       canonical[2:8],
		ProvinceCode: provCode,
		Province:     province,
		Country:      "CHN",
		Legacy:       legacy,
		RegAuthority: canonical[0],
		EntityType:   canonical[1],
		OrgCode:      canonical[8:17],
	}, stageValid, nil
}

// LoadLegacyUSCC reads a list of legacy Unified Social Credit Codes for
// Parser.LegacyUSCC: one code per line, with blank lines and '#' comments
// (whole-line or trailing) ignored. Codes are uppercased; a line that is
// not 18 characters of the USCC alphabet with a region code in
// characters 3-8 is an error "line N: ...".
func LoadLegacyUSCC(r io.Reader) (map[string]bool, error) {
	codes := make(map[string]bool)
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		if _, _, err := usccStructure(text, true); err != nil {
			return nil, invalidf("line %d: %s", line, message(err))
		}
		codes[upperASCII(text)] = true
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, invalidf("line %d: line too long", line+1)
		}
		return nil, &credo.Error{Code: credo.EINTERNAL, Op: "ident",
			Message: "reading legacy USCC list: " + err.Error(), Err: err}
	}
	return codes, nil
}
