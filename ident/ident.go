// Package ident parses and validates the identifiers Credo keys its subjects
// by: the Resident Identity Card number (RIC, GB 11643-1999) of a person, the
// Unified Social Credit Code (USCC, GB 32100-2015) of an organisation, and a
// passport number qualified by its ISO 3166-1 alpha-3 issuing country.
//
// Parsing is pure: it never consults the clock, so a birth date in the
// future is not an error here (policy code decides what to do with it).
// Every rejection is a *credo.Error with code credo.EINVALID and op "ident"
// whose message says exactly what is wrong.
package ident

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"credo"
)

// Scheme says which identifier system a subject ID belongs to.
type Scheme uint8

// The identifier schemes.
const (
	RIC      Scheme = iota + 1 // Resident Identity Card number, GB 11643-1999
	USCC                       // Unified Social Credit Code, GB 32100-2015
	Passport                   // passport number with its issuing country
)

// String returns the scheme's lowercase name: "ric", "uscc" or "passport".
func (s Scheme) String() string {
	switch s {
	case RIC:
		return "ric"
	case USCC:
		return "uscc"
	case Passport:
		return "passport"
	}
	return "unknown"
}

// ID is a parsed, validated subject identifier with its derived attributes.
type ID struct {
	// Canonical is the normalised form: a RIC has 18 characters with an
	// uppercase X, a USCC is uppercase, a passport is "P:CHN:E12345678".
	Canonical string
	// Scheme is the identifier system.
	Scheme Scheme
	// Kind is credo.Person for a RIC or passport, credo.Org for a USCC.
	Kind credo.SubjectKind
	// Region is the 6-digit GB/T 2260 region code (RIC, USCC); "" for a passport.
	Region string
	// ProvinceCode is the first two digits of Region; "" for a passport.
	ProvinceCode string
	// Province is the English name of the province-level division.
	Province string
	// Country is the ISO 3166-1 alpha-3 code: "CHN" for a RIC or USCC.
	Country string
	// Birth is the birth date at 00:00 UTC (RIC only; zero otherwise).
	Birth time.Time
	// Sex is taken from the RIC sequence number (odd is male); RIC only.
	Sex credo.Sex
	// Legacy reports an ID converted from a 15-digit RIC, or a USCC accepted
	// from Parser.LegacyUSCC although it fails a check.
	Legacy bool
	// RegAuthority is USCC character 1, the registration authority; 0 otherwise.
	RegAuthority byte
	// EntityType is USCC character 2, the entity type; 0 otherwise.
	EntityType byte
	// OrgCode is USCC characters 9-17, the GB 11714 organisation code; "" otherwise.
	OrgCode string
}

// HasBirth reports whether the ID carries a birth date (only RICs do).
func (id ID) HasBirth() bool { return !id.Birth.IsZero() }

// AgeAt returns the whole years completed at instant t, judged by the
// calendar date of t in loc (nil means UTC). A 29 February birthday counts
// as reached on 1 March in a non-leap year. It returns -1 if the ID has no
// birth date, and 0 if t falls before the birth date.
func (id ID) AgeAt(t time.Time, loc *time.Location) int {
	if !id.HasBirth() {
		return -1
	}
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := t.In(loc).Date()
	by, bm, bd := id.Birth.Date()
	age := y - by
	if m < bm || (m == bm && d < bd) {
		age--
	}
	if age < 0 {
		return 0
	}
	return age
}

// RegistrationAuthorityName returns the English name of a USCC's
// registration authority (character 1), or "" if the ID is not a USCC or
// the authority code is unknown.
func (id ID) RegistrationAuthorityName() string {
	if id.Scheme != USCC {
		return ""
	}
	switch id.RegAuthority {
	case '1':
		return "establishment office"
	case '2':
		return "foreign affairs"
	case '3':
		return "judicial administration"
	case '4':
		return "culture"
	case '5':
		return "civil affairs"
	case '6':
		return "tourism"
	case '7':
		return "religious affairs"
	case '8':
		return "trade union"
	case '9':
		return "market regulation"
	case 'A':
		return "central military commission"
	case 'N':
		return "agriculture"
	case 'Y':
		return "other"
	}
	return ""
}

// Parser validates identifiers. The zero value is ready to use and strict.
type Parser struct {
	// LegacyUSCC lists Unified Social Credit Codes that are legally valid although
	// they fail the check character or the embedded organisation-code check
	// (early pilot codes). Codes in this set are accepted with ID.Legacy = true.
	// Structural errors (length, alphabet, region digits) are still rejected.
	// Keys must be in canonical (uppercase) form, as LoadLegacyUSCC returns them.
	LegacyUSCC map[string]bool
}

// strict is the Parser behind the package-level Parse.
var strict Parser

// Parse validates s with a strict default Parser (no legacy USCC list).
func Parse(s string) (ID, error) { return strict.Parse(s) }

// Parse validates any supported identifier, choosing the scheme by shape
// after trimming surrounding white space: a "P:" prefix (any case) is a
// passport, 15 digits a legacy RIC, 18 characters a RIC when they are
// digits with an optional final X, and a USCC otherwise.
//
// An all-digit USCC (such as 914403001922038216) has the shape of a RIC
// too, so an 18-character RIC-shaped string is resolved as follows: a code
// in LegacyUSCC is a USCC; if its first two digits are a province code it
// is tried as a RIC first and, failing that, as a USCC when characters 3-4
// are a province code (the RIC error is reported if both fail); if only
// characters 3-4 are a province code it is a USCC; if neither is, it is
// rejected with both readings' errors. Callers that know the scheme should
// call ParseRIC or ParseUSCC.
func (p *Parser) Parse(s string) (ID, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == 'P' || s[0] == 'p') && s[1] == ':' {
		return ParsePassport(s)
	}
	switch n := utf8.RuneCountInString(s); n {
	case 15:
		return p.ParseRIC(s)
	case 18:
		if !ricShaped(s) {
			return p.ParseUSCC(s)
		}
		if p.isLegacy(s) {
			return p.ParseUSCC(s)
		}
		ricProv := provinceCode(s[0:2]) != ""
		usccProv := provinceCode(s[2:4]) != ""
		switch {
		case ricProv:
			id, err := p.ParseRIC(s)
			if err == nil || !usccProv {
				return id, err
			}
			if id, uerr := p.ParseUSCC(s); uerr == nil {
				return id, nil
			}
			return ID{}, err
		case usccProv:
			return p.ParseUSCC(s)
		default:
			_, rerr := p.ParseRIC(s)
			_, uerr := p.ParseUSCC(s)
			return ID{}, invalidf("neither a valid RIC (%s) nor a valid USCC (%s)",
				message(rerr), message(uerr))
		}
	case 0:
		return ID{}, invalidf("identifier is empty")
	default:
		return ID{}, invalidf("identifier must be an 18-character RIC or USCC, a 15-digit RIC or P:<country>:<number>, got %d characters", n)
	}
}

// isLegacy reports whether s (in any case) is in p.LegacyUSCC.
func (p *Parser) isLegacy(s string) bool {
	if p == nil || len(p.LegacyUSCC) == 0 {
		return false
	}
	return p.LegacyUSCC[upperASCII(s)]
}

// ricShaped reports whether s is 17 ASCII digits followed by a digit or X/x.
func ricShaped(s string) bool {
	if len(s) != 18 {
		return false
	}
	for i := 0; i < 17; i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	c := s[17]
	return isDigit(c) || c == 'X' || c == 'x'
}

// invalidf returns the *credo.Error for a rejected identifier.
func invalidf(format string, args ...any) error {
	return &credo.Error{Code: credo.EINVALID, Op: "ident", Message: fmt.Sprintf(format, args...)}
}

// message returns the caller-safe message of an error made by invalidf.
func message(err error) string {
	if e, ok := err.(*credo.Error); ok {
		return e.Message
	}
	return err.Error()
}

// charAt describes the character starting at byte i of s for an error
// message, and returns its 1-based character position. It assumes that the
// bytes before i are ASCII, which holds for every caller: all the
// identifier alphabets are ASCII, so the first bad character is found
// before any multi-byte one is passed over.
func charAt(s string, i int) (int, string) {
	pos := utf8.RuneCountInString(s[:i]) + 1
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size <= 1 {
		return pos, fmt.Sprintf("the invalid byte 0x%02X", s[i])
	}
	return pos, fmt.Sprintf("%q", r)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// upperASCII returns s with ASCII lowercase letters uppercased; it does not
// allocate when s has none.
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
