package ident

import (
	"strings"
	"time"
	"unicode/utf8"

	"credo"
)

// ricWeights are the ISO 7064 MOD 11-2 weights 2^(18-i) mod 11 for
// characters 1-17 of a RIC.
var ricWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// ricChecks maps S mod 11 to the check character.
const ricChecks = "10X98765432"

// Accepted range of birth years in a RIC.
const (
	minBirthYear = 1850
	maxBirthYear = 2100
)

// RICCheck computes the ISO 7064 MOD 11-2 check character ('0'-'9' or 'X')
// of a RIC from its first 17 digits, given as a string or a byte slice
// (which it does not retain; no allocation unless it fails).
func RICCheck[S ~string | ~[]byte](first17 S) (byte, error) {
	if len(first17) == 17 && allDigits(first17) {
		return ricCheck(first17), nil
	}
	s := string(first17)
	if n := utf8.RuneCountInString(s); n != 17 || len(s) != 17 {
		if n == 17 {
			return 0, firstNonDigit(s, len(s))
		}
		return 0, invalidf("RIC prefix must have 17 digits, got %d characters", n)
	}
	return 0, firstNonDigit(s, 17)
}

// allDigits reports whether s is all ASCII digits.
func allDigits[S ~string | ~[]byte](s S) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// ricCheck computes the check character of 17 ASCII digits.
func ricCheck[S ~string | ~[]byte](s S) byte {
	sum := 0
	for i, w := range ricWeights {
		sum += int(s[i]-'0') * w
	}
	return ricChecks[sum%11]
}

// firstNonDigit returns the error for the first of s's first n bytes that is
// not an ASCII digit, or nil.
func firstNonDigit(s string, n int) error {
	for i := 0; i < n && i < len(s); i++ {
		if !isDigit(s[i]) {
			pos, c := charAt(s, i)
			if fullWidthAt(s, i) {
				return fullWidthError(s[:i+utf8.RuneLen('０')])
			}
			return invalidf("character %d is %s, expected a digit", pos, c)
		}
	}
	return nil
}

// ConvertRIC15 converts an old 15-digit RIC to the 18-character form by
// inserting the century "19" after the region code and appending the check
// character. It checks only that s is 15 digits; ParseRIC validates the rest.
func ConvertRIC15(s string) (string, error) {
	if n := utf8.RuneCountInString(s); n != 15 {
		return "", invalidf("15-digit RIC must have 15 characters, got %d", n)
	}
	if err := firstNonDigit(s, len(s)); err != nil {
		return "", err
	}
	return convert15(s), nil
}

// convert15 converts 15 ASCII digits to an 18-character RIC.
func convert15(s string) string {
	var b [18]byte
	copy(b[:6], s[:6])
	b[6], b[7] = '1', '9'
	copy(b[8:17], s[6:15])
	b[17] = ricCheck(b[:17])
	return string(b[:])
}

// ParseRIC validates a Resident Identity Card number: 18 characters (the
// last may be x or X) or an old 15-digit number, which is converted and
// returned with Legacy set. Surrounding white space is trimmed.
func (p *Parser) ParseRIC(s string) (ID, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch n {
	case 15:
		if err := firstNonDigit(s, len(s)); err != nil {
			return ID{}, err
		}
		return parseRIC18(convert15(s), true)
	case 18:
		return parseRIC18(s, false)
	}
	return ID{}, invalidf("RIC must have 18 characters, got %d", n)
}

// How far a reading of an identifier got before it failed: the stages
// of its structure, in order. A reading that reaches stageComplete has the
// whole structure of its scheme and can fail only at a check character.
const (
	stageNone     = iota
	stageRICProv  // RIC: characters and province code
	stageRICReg   // RIC: the six-digit division code exists
	stageRICDate  // RIC: a real birth date
	stageComplete // the whole structure; only check characters remain
	stageValid    // valid
)

// parseRIC18 validates an 18-character RIC (18 runes, not necessarily
// 18 bytes).
func parseRIC18(s string, legacy bool) (ID, error) {
	id, _, err := readRIC18(s, legacy, true)
	return id, err
}

// readRIC18 is parseRIC18 that also reports the stage the reading reached.
// Unless explain is set it fails with errQuiet, without building a message
// (no allocation).
func readRIC18(s string, legacy, explain bool) (ID, int, error) {
	if err := firstNonDigit(s, 17); err != nil {
		return ID{}, stageNone, err
	}
	// The first 17 bytes are ASCII digits, so s[17] starts character 18.
	c := s[17]
	if !isDigit(c) && c != 'X' && c != 'x' || len(s) != 18 {
		_, d := charAt(s, 17)
		if !explain {
			return ID{}, stageNone, errQuiet
		}
		return ID{}, stageNone, invalidf("character 18 is %s, expected a digit or X", d)
	}
	province := provinceCode(s[:2])
	if province == "" {
		if !explain {
			return ID{}, stageNone, errQuiet
		}
		return ID{}, stageNone, invalidf("unknown province code %s in region %s", s[:2], s[:6])
	}
	div := lookupDivision(s[:6])
	if div == nil {
		if !explain {
			return ID{}, stageRICProv, errQuiet
		}
		return ID{}, stageRICProv, invalidf("unknown region code %s (not a GB/T 2260 division code)", s[:6])
	}
	date := s[6:14]
	year := atoi(date[0:4])
	if year < minBirthYear || year > maxBirthYear {
		if !explain {
			return ID{}, stageRICReg, errQuiet
		}
		return ID{}, stageRICReg, invalidf("year %s in birth date %s is outside %d-%d", date[0:4], date, minBirthYear, maxBirthYear)
	}
	month := atoi(date[4:6])
	if month < 1 || month > 12 {
		if !explain {
			return ID{}, stageRICReg, errQuiet
		}
		return ID{}, stageRICReg, invalidf("month %s in birth date %s", date[4:6], date)
	}
	day := atoi(date[6:8])
	if day < 1 || day > daysIn(year, time.Month(month)) {
		if !explain {
			return ID{}, stageRICReg, errQuiet
		}
		return ID{}, stageRICReg, invalidf("day %s in birth date %s", date[6:8], date)
	}
	// A number is issued after its holder's birth, and a code abolished
	// stays valid only for numbers issued while it was in force.
	if div.last != 0 && year > int(div.last) {
		if !explain {
			return ID{}, stageRICDate, errQuiet
		}
		return ID{}, stageRICDate, invalidf("region code %s was last in force in %d, before the birth date %s", s[:6], div.last, date)
	}
	if s[14:17] == "000" {
		if !explain {
			return ID{}, stageRICDate, errQuiet
		}
		return ID{}, stageRICDate, invalidf("sequence 000 is not assigned")
	}
	want := ricCheck(s)
	if c == 'x' {
		c = 'X'
	}
	if c != want {
		if !explain {
			return ID{}, stageComplete, errQuiet
		}
		return ID{}, stageComplete, invalidf("check character is %c, expected %c", c, want)
	}
	canonical := s
	if s[17] == 'x' {
		canonical = s[:17] + "X"
	}
	sex := credo.Female
	if (s[16]-'0')%2 == 1 {
		sex = credo.Male
	}
	return ID{
		Canonical:    canonical,
		Scheme:       RIC,
		Kind:         credo.Person,
		Region:       canonical[:6],
		ProvinceCode: canonical[:2],
		Province:     province,
		Country:      "CHN",
		Birth:        time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC),
		Sex:          sex,
		Legacy:       legacy,
	}, stageValid, nil
}

// atoi converts a short string of ASCII digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// daysIn returns the number of days in month m of year y (Gregorian).
func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
