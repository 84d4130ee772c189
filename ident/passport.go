package ident

import (
	"strings"
	"unicode/utf8"

	"credo"
)

// countries holds the 249 ISO 3166-1 alpha-3 codes, sorted, each followed
// by one space, so that code k is countries[4k:4k+3].
const countries = "ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE " +
	"BDI BEL BEN BES BFA BGD BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA " +
	"CAF CAN CCK CHE CHL CHN CIV CMR COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE " +
	"DEU DJI DMA DNK DOM DZA " +
	"ECU EGY ERI ESH ESP EST ETH " +
	"FIN FJI FLK FRA FRO FSM " +
	"GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB GNQ GRC GRD GRL GTM GUF GUM GUY " +
	"HKG HMD HND HRV HTI HUN " +
	"IDN IMN IND IOT IRL IRN IRQ ISL ISR ITA " +
	"JAM JEY JOR JPN " +
	"KAZ KEN KGZ KHM KIR KNA KOR KWT " +
	"LAO LBN LBR LBY LCA LIE LKA LSO LTU LUX LVA " +
	"MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR MTQ MUS MWI MYS MYT " +
	"NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL " +
	"OMN " +
	"PAK PAN PCN PER PHL PLW PNG POL PRI PRK PRT PRY PSE PYF " +
	"QAT " +
	"REU ROU RUS RWA " +
	"SAU SDN SEN SGP SGS SHN SJM SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM SYC SYR " +
	"TCA TCD TGO THA TJK TKL TKM TLS TON TTO TUN TUR TUV TWN TZA " +
	"UGA UKR UMI URY USA UZB " +
	"VAT VCT VEN VGB VIR VNM VUT " +
	"WLF WSM " +
	"YEM " +
	"ZAF ZMB ZWE "

// knownCountry reports whether code (3 uppercase letters) is an ISO 3166-1
// alpha-3 code, by binary search over countries.
func knownCountry(code string) bool {
	lo, hi := 0, len(countries)/4
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch c := countries[4*m : 4*m+3]; {
		case c == code:
			return true
		case c < code:
			lo = m + 1
		default:
			hi = m
		}
	}
	return false
}

// Passport number length limits.
const (
	minPassportLen = 5
	maxPassportLen = 20
)

// ParsePassport validates a passport identifier "P:<country>:<number>":
// country is an ISO 3166-1 alpha-3 code and number 5-20 letters or digits.
// The prefix, the country and the number may be given in any case and are
// uppercased; surrounding white space is trimmed.
func ParsePassport(s string) (ID, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || (s[0] != 'P' && s[0] != 'p') || s[1] != ':' {
		return ID{}, invalidf("passport must have the form P:<country>:<number>")
	}
	rest := s[2:]
	i := strings.IndexByte(rest, ':')
	if i < 0 {
		return ID{}, invalidf("passport must have the form P:<country>:<number>, found no ':' after the country")
	}
	country, number := rest[:i], rest[i+1:]
	if !isLetters(country) || len(country) != 3 {
		return ID{}, invalidf("passport country %q must be 3 letters (ISO 3166-1 alpha-3)", country)
	}
	country = upperASCII(country)
	if !knownCountry(country) {
		return ID{}, invalidf("unknown passport country code %s (not in ISO 3166-1 alpha-3)", country)
	}
	if n := utf8.RuneCountInString(number); n < minPassportLen || n > maxPassportLen {
		return ID{}, invalidf("passport number must have %d to %d characters, got %d", minPassportLen, maxPassportLen, n)
	}
	for j := 0; j < len(number); j++ {
		c := number[j]
		if !isDigit(c) && !('A' <= c && c <= 'Z') && !('a' <= c && c <= 'z') {
			pos, d := charAt(number, j)
			return ID{}, invalidf("passport number character %d is %s, expected a letter A-Z or a digit", pos, d)
		}
	}
	// s is now all ASCII, so uppercasing it yields "P:<COUNTRY>:<NUMBER>".
	canonical := upperASCII(s)
	return ID{
		Canonical: canonical,
		Scheme:    Passport,
		Kind:      credo.Person,
		Country:   canonical[2:5],
	}, nil
}

// isLetters reports whether s is non-empty and all ASCII letters.
func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z') && !('a' <= c && c <= 'z') {
			return false
		}
	}
	return s != ""
}
