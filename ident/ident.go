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
	"errors"
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

// Warning returns what is suspect about a valid ID, or "": a RIC whose
// division code came into force after the holder's birth year was issued
// after a re-registration, or is mistyped. It is computed on demand.
func (id ID) Warning() string {
	if id.Scheme != RIC {
		return ""
	}
	d := lookupDivision(id.Region)
	if d == nil || d.first == 0 || id.Birth.Year() >= int(d.first) {
		return ""
	}
	return fmt.Sprintf("region code %s (%s) came into force in %d, after the birth year %d: a number re-issued since, or a mistyped one",
		id.Region, d.name, d.first, id.Birth.Year())
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

// ParseAs validates s as an identifier of a subject of the given kind with
// a strict default Parser (see Parser.ParseAs).
func ParseAs(s string, kind credo.SubjectKind) (ID, error) { return strict.ParseAs(s, kind) }

// Parse validates any supported identifier, choosing the scheme by shape
// after trimming surrounding white space: a "P:" prefix (any case) is a
// passport, "RIC:" or "USCC:" (any case) says the scheme of what follows,
// 15 digits are a legacy RIC, 18 characters a RIC when they are digits
// with an optional final X, and a USCC otherwise.
//
// An all-digit USCC (such as 914403001922038216) has the shape of a RIC
// too. Parse never guesses between them: an 18-character RIC-shaped string
// is read both ways, and if both readings have the whole structure of
// their scheme (known division codes, a real birth date, a known USCC
// registration department and category) it is ambiguous, whether one,
// both or neither pass their check characters (a mistyped ID card number
// must not become a valid company code, nor the reverse). Such a string is
// rejected with an error for which IsAmbiguous is true; the caller must say
// which kind it is (ParseAs, or a "RIC:"/"USCC:" prefix), and the
// canonical form then keeps the prefix. A code in LegacyUSCC is a USCC.
// Otherwise the valid reading is taken, and a string valid under neither
// gets the error of the scheme it most resembles, which the message names.
func (p *Parser) Parse(s string) (ID, error) {
	return p.ParseAs(s, credo.KindUnknown)
}

// ErrAmbiguous is wrapped by the error for an identifier that may be a
// person's RIC or an organisation's USCC (errors.Is, or IsAmbiguous).
var ErrAmbiguous = errors.New("identifier is ambiguous: a RIC or a USCC")

// IsAmbiguous reports whether err says an identifier could be either a RIC
// or a USCC, so that the caller must say which kind of subject it names.
func IsAmbiguous(err error) bool { return errors.Is(err, ErrAmbiguous) }

// The names of the schemes in error messages.
const (
	ricName  = "ID card number (RIC)"
	usccName = "unified social credit code (USCC)"
)

// ParseAs validates s as an identifier of a subject of the given kind:
// credo.Person reads a RIC (or a passport), credo.Org a USCC, and
// credo.KindUnknown is Parse. A RIC-shaped string that is ambiguous under
// Parse gets the canonical form "RIC:..." or "USCC:...", which Parse reads
// back unambiguously.
func (p *Parser) ParseAs(s string, kind credo.SubjectKind) (ID, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == 'P' || s[0] == 'p') && s[1] == ':' {
		if kind == credo.Org {
			return ID{}, invalidf("a passport identifies a person, not an organisation")
		}
		return ParsePassport(s)
	}
	if k, n := schemePrefix(s); n > 0 {
		if kind != credo.KindUnknown && kind != k {
			return ID{}, invalidf("%s names a %s, not a %s", strings.ToUpper(s[:n-1]), k, kind)
		}
		kind, s = k, s[n:]
	}
	if err := fullWidthError(s); err != nil {
		return ID{}, err
	}
	switch n := utf8.RuneCountInString(s); {
	case n == 15 && kind != credo.Org:
		id, err := p.ParseRIC(s)
		return id, named(err, ricName)
	case n == 18:
		return p.parse18(s, kind)
	case n == 0:
		return ID{}, invalidf("identifier is empty")
	case kind == credo.Person:
		return ID{}, invalidf("a person's identifier must be an 18-character RIC, a 15-digit RIC or P:<country>:<number>, got %d characters", n)
	case kind == credo.Org:
		return ID{}, invalidf("an organisation's identifier must be an 18-character USCC, got %d characters", n)
	default:
		return ID{}, invalidf("identifier must be an 18-character RIC or USCC, a 15-digit RIC or P:<country>:<number>, got %d characters", n)
	}
}

// schemePrefix recognises a "RIC:" or "USCC:" prefix (any case) and
// returns the kind it names and its length, or 0.
func schemePrefix(s string) (credo.SubjectKind, int) {
	switch {
	case len(s) >= 4 && s[3] == ':' && strings.EqualFold(s[:3], "RIC"):
		return credo.Person, 4
	case len(s) >= 5 && s[4] == ':' && strings.EqualFold(s[:4], "USCC"):
		return credo.Org, 5
	}
	return credo.KindUnknown, 0
}

// errQuiet is the failure of a reading asked not to explain itself.
var errQuiet = &credo.Error{Code: credo.EINVALID, Op: "ident", Message: "invalid"}

// parse18 validates an 18-character identifier of the given kind (or of
// either kind). Both readings of a RIC-shaped string are made without
// building messages; the one reported is made again to explain itself.
func (p *Parser) parse18(s string, kind credo.SubjectKind) (ID, error) {
	if !ricShaped(s) {
		if kind == credo.Person {
			_, err := p.ParseRIC(s)
			return ID{}, named(err, ricName)
		}
		id, _, err := p.readUSCC(s, true)
		return id, named(err, usccName)
	}
	if p.isLegacy(s) && kind != credo.Person {
		return p.ParseUSCC(s)
	}
	rid, rstage, rerr := readRIC18(s, false, false)
	uid, ustage, uerr := p.readUSCC(s, false)
	ricErr := func() error { _, _, err := readRIC18(s, false, true); return err }
	usccErr := func() error { _, _, err := p.readUSCC(s, true); return err }
	both := rstage >= stageComplete && ustage >= stageComplete
	switch kind {
	case credo.Person:
		if rerr != nil {
			if uerr == nil {
				return ID{}, invalidf("not a valid %s: %s; it is a valid %s, an organisation's", ricName, message(ricErr()), usccName)
			}
			return ID{}, named(ricErr(), ricName)
		}
		if both {
			rid.Canonical = "RIC:" + rid.Canonical
		}
		return rid, nil
	case credo.Org:
		if uerr != nil {
			if rerr == nil {
				return ID{}, invalidf("not a valid %s: %s; it is a valid %s, a person's", usccName, message(usccErr()), ricName)
			}
			return ID{}, named(usccErr(), usccName)
		}
		if both {
			uid.Canonical = "USCC:" + uid.Canonical
		}
		return uid, nil
	}
	switch {
	case both:
		var re, ue error
		if rerr != nil {
			re = ricErr()
		}
		if uerr != nil {
			ue = usccErr()
		}
		return ID{}, ambiguous(s, re, ue)
	case rerr == nil:
		return rid, nil
	case uerr == nil:
		return uid, nil
	case rstage > ustage:
		return ID{}, named(ricErr(), ricName)
	case ustage > rstage:
		return ID{}, named(usccErr(), usccName)
	case birthDate(s[6:14]):
		return ID{}, named(ricErr(), ricName) // a birth date where a RIC has one
	}
	return ID{}, invalidf("neither an ID card number (RIC: %s) nor a unified social credit code (USCC: %s)", message(ricErr()), message(usccErr()))
}

// ambiguous returns the error for a string with the structure of both a
// RIC and a USCC.
func ambiguous(s string, rerr, uerr error) error {
	how := func(err error) string {
		if err == nil {
			return "valid"
		}
		return message(err)
	}
	return &credo.Error{Code: credo.EINVALID, Op: "ident", Err: ErrAmbiguous, Message: fmt.Sprintf(
		"%s could be a person's ID card number (RIC: %s) or an organisation's unified social credit code (USCC: %s): say which kind of subject it names, person or org",
		s, how(rerr), how(uerr))}
}

// named prefixes the message of a rejection with the scheme it concerns.
func named(err error, scheme string) error {
	if err == nil {
		return nil
	}
	return invalidf("not a valid %s: %s", scheme, message(err))
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

// fullWidthAt reports whether the character at byte i of s is a full-width
// form of an ASCII character (U+FF01-U+FF5E, as typed with a Chinese input
// method: '１', 'Ｘ').
func fullWidthAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return 0xFF01 <= r && r <= 0xFF5E
}

// fullWidthError returns an error for the first full-width character of
// s, or nil. It does not allocate when s has none.
func fullWidthError(s string) error {
	for i := strings.IndexByte(s, 0xEF); i >= 0 && i < len(s); {
		if fullWidthAt(s, i) {
			pos, c := charAt(s, i)
			return invalidf("character %d is the full-width %s: identifiers are written with ASCII (half-width) digits and letters", pos, c)
		}
		j := strings.IndexByte(s[i+1:], 0xEF)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return nil
}

// birthDate reports whether d (8 ASCII digits) is a date a RIC can carry.
func birthDate(d string) bool {
	y, m := atoi(d[:4]), atoi(d[4:6])
	return minBirthYear <= y && y <= maxBirthYear && 1 <= m && m <= 12 &&
		1 <= atoi(d[6:8]) && atoi(d[6:8]) <= daysIn(y, time.Month(m))
}
