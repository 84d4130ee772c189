package ident_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Shanghai without relying on the host's zoneinfo

	"credo"
	"credo/ident"
)

// date returns midnight UTC of the given day.
func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// wantInvalid checks that err is an EINVALID *credo.Error from op "ident"
// with exactly the message want.
func wantInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	var e *credo.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is %T, want *credo.Error", err, err)
	}
	if got, want := e.Code, credo.EINVALID; got != want {
		t.Errorf("code = %q, want %q", got, want)
	}
	if got, want := e.Op, "ident"; got != want {
		t.Errorf("op = %q, want %q", got, want)
	}
	if got := e.Message; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ident.ID
	}{
		{"domain RIC female Beijing", "11010519491231002X", ident.ID{
			Canonical: "11010519491231002X", Scheme: ident.RIC, Kind: credo.Person,
			Region: "110105", ProvinceCode: "11", Province: "Beijing", Country: "CHN",
			Birth: date(1949, 12, 31), Sex: credo.Female,
		}},
		{"domain RIC male Guangdong 1880", "440524188001010014", ident.ID{
			Canonical: "440524188001010014", Scheme: ident.RIC, Kind: credo.Person,
			Region: "440524", ProvinceCode: "44", Province: "Guangdong", Country: "CHN",
			Birth: date(1880, 1, 1), Sex: credo.Male,
		}},
		{"RIC lowercase x", "11010519491231002x", ident.ID{
			Canonical: "11010519491231002X", Scheme: ident.RIC, Kind: credo.Person,
			Region: "110105", ProvinceCode: "11", Province: "Beijing", Country: "CHN",
			Birth: date(1949, 12, 31), Sex: credo.Female,
		}},
		{"RIC surrounding spaces", "  110105198001010016\t", ident.ID{
			Canonical: "110105198001010016", Scheme: ident.RIC, Kind: credo.Person,
			Region: "110105", ProvinceCode: "11", Province: "Beijing", Country: "CHN",
			Birth: date(1980, 1, 1), Sex: credo.Male,
		}},
		{"RIC Feb 29 leap year", "110105200002290021", ident.ID{
			Canonical: "110105200002290021", Scheme: ident.RIC, Kind: credo.Person,
			Region: "110105", ProvinceCode: "11", Province: "Beijing", Country: "CHN",
			Birth: date(2000, 2, 29), Sex: credo.Female,
		}},
		{"RIC 15 digits domain", "110105491231002", ident.ID{
			Canonical: "11010519491231002X", Scheme: ident.RIC, Kind: credo.Person,
			Region: "110105", ProvinceCode: "11", Province: "Beijing", Country: "CHN",
			Birth: date(1949, 12, 31), Sex: credo.Female, Legacy: true,
		}},
		{"RIC 15 digits Shanghai", "310104650315123", ident.ID{
			Canonical: "310104196503151232", Scheme: ident.RIC, Kind: credo.Person,
			Region: "310104", ProvinceCode: "31", Province: "Shanghai", Country: "CHN",
			Birth: date(1965, 3, 15), Sex: credo.Male, Legacy: true,
		}},
		{"domain USCC all digits", "914403001922038216", ident.ID{
			Canonical: "914403001922038216", Scheme: ident.USCC, Kind: credo.Org,
			Region: "440300", ProvinceCode: "44", Province: "Guangdong", Country: "CHN",
			RegAuthority: '9', EntityType: '1', OrgCode: "192203821",
		}},
		{"USCC lowercase letters", "91110105ma01abcd5f", ident.ID{
			Canonical: "91110105MA01ABCD5F", Scheme: ident.USCC, Kind: credo.Org,
			Region: "110105", ProvinceCode: "11", Province: "Beijing", Country: "CHN",
			RegAuthority: '9', EntityType: '1', OrgCode: "MA01ABCD5",
		}},
		{"USCC organisation check X", "9144030010000018XH", ident.ID{
			Canonical: "9144030010000018XH", Scheme: ident.USCC, Kind: credo.Org,
			Region: "440300", ProvinceCode: "44", Province: "Guangdong", Country: "CHN",
			RegAuthority: '9', EntityType: '1', OrgCode: "10000018X",
		}},
		{"passport", "P:CHN:E12345678", ident.ID{
			Canonical: "P:CHN:E12345678", Scheme: ident.Passport, Kind: credo.Person, Country: "CHN",
		}},
		{"passport lowercase", " p:usa:a1234b ", ident.ID{
			Canonical: "P:USA:A1234B", Scheme: ident.Passport, Kind: credo.Person, Country: "USA",
		}},
		{"passport 20 characters", "P:DEU:C01X00T47C01X00T47", ident.ID{
			Canonical: "P:DEU:C01X00T47C01X00T47", Scheme: ident.Passport, Kind: credo.Person, Country: "DEU",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ident.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) =\n%+v, want\n%+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseRICErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"17 characters", "11010519491231002", "RIC must have 18 characters, got 17"},
		{"16 characters", "1101051949123100", "RIC must have 18 characters, got 16"},
		{"19 characters", "11010519491231002X0", "RIC must have 18 characters, got 19"},
		{"letter at 5", "1101A519491231002X", "character 5 is 'A', expected a digit"},
		{"full-width digit at 5", "1101０519491231002X", "character 5 is the full-width '０': identifiers are written with ASCII (half-width) digits and letters"},
		{"invalid UTF-8 at 3", "11\xff10519491231002X", "character 3 is the invalid byte 0xFF, expected a digit"},
		{"bad check symbol", "11010519800101001A", "character 18 is 'A', expected a digit or X"},
		{"non-ASCII check symbol", "11010519800101001é", "character 18 is 'é', expected a digit or X"},
		{"wrong check character", "110105198001010017", "check character is 7, expected 6"},
		{"X instead of digit", "11010519800101001X", "check character is X, expected 6"},
		{"digit instead of X", "110105194912310020", "check character is 0, expected X"},
		{"unknown province", "990101198001010016", "unknown province code 99 in region 990101"},
		{"province 00", "000101198001010016", "unknown province code 00 in region 000101"},
		{"month 13", "110105198013010016", "month 13 in birth date 19801301"},
		{"month 00", "110105198000010016", "month 00 in birth date 19800001"},
		{"day 31 in April", "110105194904310016", "day 31 in birth date 19490431"},
		{"day 00", "110105194904000016", "day 00 in birth date 19490400"},
		{"Feb 29 in 1949", "110105194902290016", "day 29 in birth date 19490229"},
		{"Feb 29 in 1900", "110105190002290016", "day 29 in birth date 19000229"},
		{"year 1799", "110105179901010016", "year 1799 in birth date 17990101 is outside 1850-2100"},
		{"year 2101", "110105210101010016", "year 2101 in birth date 21010101 is outside 1850-2100"},
		{"sequence 000", "110105198001010000", "sequence 000 is not assigned"},
		{"15 digits with letter", "11010549123100A", "character 15 is 'A', expected a digit"},
		{"15 digits bad month", "110105491331002", "month 13 in birth date 19491331"},
		{"15 digits sequence 000", "110105491231000", "sequence 000 is not assigned"},
	}
	var p ident.Parser
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.ParseRIC(tt.in)
			wantInvalid(t, err, tt.want)
		})
	}
}

func TestParseRICBoundaries(t *testing.T) {
	for _, in := range []string{"110105185001010010", "110105210012310010"} {
		t.Run(in, func(t *testing.T) {
			check, err := ident.RICCheck(in[:17])
			if err != nil {
				t.Fatal(err)
			}
			s := in[:17] + string(check)
			id, err := ident.Parse(s)
			if err != nil {
				t.Fatalf("Parse(%q): %v", s, err)
			}
			if got, want := id.Birth.Format("20060102"), in[6:14]; got != want {
				t.Errorf("birth = %s, want %s", got, want)
			}
		})
	}
}

func TestParseUSCCErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"domain invalid check", "914403001922038217", "check character is 7, expected 6"},
		{"17 characters", "91440300192203821", "USCC must have 18 characters, got 17"},
		{"I at 3", "91I403001922038216", "character 3 is 'I', not in the USCC alphabet (I, O, Z, S, V are never used)"},
		{"lowercase o at 9", "91440300o922038216", "character 9 is 'o', not in the USCC alphabet (I, O, Z, S, V are never used)"},
		{"dash at 9", "91440300-922038216", "character 9 is '-', not in the USCC alphabet (digits and uppercase letters except I, O, Z, S, V)"},
		{"letter in region", "914A03001922038216", "character 4 is 'A', expected a digit (characters 3-8 are the region code)"},
		{"unknown province", "919903001922038216", "unknown province code 99 in region 990300"},
		{"organisation check", "91440300192203823C", "organisation code check (character 17) is 3, expected 1"},
	}
	var p ident.Parser
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.ParseUSCC(tt.in)
			wantInvalid(t, err, tt.want)
		})
	}
}

func TestParseDispatchErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "   ", "identifier is empty"},
		{"too short", "12345", "identifier must be an 18-character RIC or USCC, a 15-digit RIC or P:<country>:<number>, got 5 characters"},
		{"RIC wrong check", "110105198001010017", "not a valid ID card number (RIC): check character is 7, expected 6"},
		{"USCC wrong check", "914403001922038217", "not a valid unified social credit code (USCC): check character is 7, expected 6"},
		{"USCC with letter wrong check", "91110105MA01ABCD5G", "not a valid unified social credit code (USCC): check character is G, expected F"},
		{"neither reading, a birth date", "990101198001010016", "not a valid ID card number (RIC): unknown province code 99 in region 990101"},
		{"neither reading", "990101108001010016", "neither an ID card number (RIC: unknown province code 99 in region 990101) nor a unified social credit code (USCC: character 2 is '9', not an institution category of registration department 9 (工商))"},
		{"passport bad country", "P:XXX:E12345678", "unknown passport country code XXX (not in ISO 3166-1 alpha-3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ident.Parse(tt.in)
			wantInvalid(t, err, tt.want)
		})
	}
}

func TestParsePassportErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no prefix", "X:CHN:E12345678", "passport must have the form P:<country>:<number>"},
		{"no second colon", "P:CHNE12345678", "passport must have the form P:<country>:<number>, found no ':' after the country"},
		{"two-letter country", "P:CN:E12345678", `passport country "CN" must be 3 letters (ISO 3166-1 alpha-3)`},
		{"digit in country", "P:C1N:E12345678", `passport country "C1N" must be 3 letters (ISO 3166-1 alpha-3)`},
		{"unknown country", "P:xxx:E12345678", "unknown passport country code XXX (not in ISO 3166-1 alpha-3)"},
		{"number too short", "P:CHN:E123", "passport number must have 5 to 20 characters, got 4"},
		{"number too long", "P:CHN:E12345678901234567890", "passport number must have 5 to 20 characters, got 21"},
		{"dash in number", "P:CHN:E1234-678", "passport number character 6 is '-', expected a letter A-Z or a digit"},
		{"colon in number", "P:CHN:E12:45678", "passport number character 4 is ':', expected a letter A-Z or a digit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ident.ParsePassport(tt.in)
			wantInvalid(t, err, tt.want)
		})
	}
}

func TestLegacyUSCC(t *testing.T) {
	strict := ident.Parser{}
	lenient := ident.Parser{LegacyUSCC: map[string]bool{
		"914403001922038217": true, // fails the check character
		"91440300192203823C": true, // fails the organisation-code check
		"91110105MA01ABCD5G": true, // has letters, fails the check character
		"914403001922038216": true, // valid anyway: not marked Legacy
		"919903001922038216": true, // structurally invalid: still rejected
	}}
	tests := []struct {
		name       string
		in         string
		canonical  string
		wantLegacy bool
	}{
		{"bad check", "914403001922038217", "914403001922038217", true},
		{"bad organisation check", "91440300192203823C", "91440300192203823C", true},
		{"lowercase input", "91110105ma01abcd5g", "91110105MA01ABCD5G", true},
		{"valid code listed", "914403001922038216", "914403001922038216", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := lenient.Parse(tt.in)
			if err != nil {
				t.Fatalf("lenient Parse(%q): %v", tt.in, err)
			}
			if got, want := id.Canonical, tt.canonical; got != want {
				t.Errorf("canonical = %q, want %q", got, want)
			}
			if got, want := id.Legacy, tt.wantLegacy; got != want {
				t.Errorf("legacy = %v, want %v", got, want)
			}
			if got, want := id.Scheme, ident.USCC; got != want {
				t.Errorf("scheme = %v, want %v", got, want)
			}
			id2, err := lenient.ParseUSCC(tt.in)
			if err != nil || id2 != id {
				t.Errorf("ParseUSCC = %+v, %v; want %+v", id2, err, id)
			}
			if _, err := strict.Parse(tt.in); (err == nil) != !tt.wantLegacy {
				t.Errorf("strict Parse(%q) error = %v", tt.in, err)
			}
		})
	}
	t.Run("structural error not excused", func(t *testing.T) {
		_, err := lenient.Parse("919903001922038216")
		wantInvalid(t, err, "unknown province code 99 in region 990300")
	})
	t.Run("package Parse is strict", func(t *testing.T) {
		_, err := ident.Parse("914403001922038217")
		wantInvalid(t, err, "not a valid unified social credit code (USCC): check character is 7, expected 6")
	})
	t.Run("nil parser is strict", func(t *testing.T) {
		var p *ident.Parser
		_, err := p.ParseUSCC("914403001922038217")
		wantInvalid(t, err, "check character is 7, expected 6")
		if _, err := p.Parse("914403001922038216"); err != nil {
			t.Errorf("nil Parser Parse: %v", err)
		}
	})
}

func TestLoadLegacyUSCC(t *testing.T) {
	t.Run("valid list", func(t *testing.T) {
		in := "# pilot codes, 2015\n\n914403001922038217\n  91110105ma01abcd5g  # lowercase, trailing comment\n"
		got, err := ident.LoadLegacyUSCC(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(got), 2; got != want {
			t.Errorf("len = %d, want %d", got, want)
		}
		for _, code := range []string{"914403001922038217", "91110105MA01ABCD5G"} {
			if !got[code] {
				t.Errorf("%s missing from %v", code, got)
			}
		}
		p := ident.Parser{LegacyUSCC: got}
		if id, err := p.Parse("914403001922038217"); err != nil || !id.Legacy {
			t.Errorf("Parse with loaded list = %+v, %v", id, err)
		}
	})
	errs := []struct{ name, in, want string }{
		{"short line", "# x\n914403001922038217\n91440300192203821\n", "line 3: USCC must have 18 characters, got 17"},
		{"bad character", "91I403001922038216", "line 1: character 3 is 'I', not in the USCC alphabet (I, O, Z, S, V are never used)"},
		{"region letter", "\n914A03001922038216", "line 2: character 4 is 'A', expected a digit (characters 3-8 are the region code)"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ident.LoadLegacyUSCC(strings.NewReader(tt.in))
			wantInvalid(t, err, tt.want)
		})
	}
}

func TestConvertRIC15(t *testing.T) {
	// Expected values worked out by hand with the MOD 11-2 weights.
	tests := []struct{ in, want string }{
		{"110105491231002", "11010519491231002X"},
		{"440524800101001", "440524198001010013"},
		{"310104650315123", "310104196503151232"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ident.ConvertRIC15(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ConvertRIC15(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	t.Run("short", func(t *testing.T) {
		_, err := ident.ConvertRIC15("11010549123100")
		wantInvalid(t, err, "15-digit RIC must have 15 characters, got 14")
	})
	t.Run("letter", func(t *testing.T) {
		_, err := ident.ConvertRIC15("1101054912310X2")
		wantInvalid(t, err, "character 14 is 'X', expected a digit")
	})
}

func TestCheckFunctions(t *testing.T) {
	t.Run("RICCheck", func(t *testing.T) {
		for in, want := range map[string]byte{
			"11010519491231002": 'X',
			"44052418800101001": '4',
			"11010519800101001": '6',
		} {
			if got, err := ident.RICCheck(in); err != nil || got != want {
				t.Errorf("RICCheck(%q) = %q, %v; want %q", in, got, err, want)
			}
		}
		_, err := ident.RICCheck("1101051949123100")
		wantInvalid(t, err, "RIC prefix must have 17 digits, got 16 characters")
		_, err = ident.RICCheck("1101051949123100X")
		wantInvalid(t, err, "character 17 is 'X', expected a digit")
		_, err = ident.RICCheck("1101051949123100é")
		wantInvalid(t, err, "character 17 is 'é', expected a digit")
	})
	t.Run("USCCCheck", func(t *testing.T) {
		for in, want := range map[string]byte{
			"91440300192203821": '6',
			"91110105MA01ABCD5": 'F',
			"91110105ma01abcd5": 'F',
		} {
			if got, err := ident.USCCCheck(in); err != nil || got != want {
				t.Errorf("USCCCheck(%q) = %q, %v; want %q", in, got, err, want)
			}
		}
		_, err := ident.USCCCheck("9144030019220382")
		wantInvalid(t, err, "USCC prefix must have 17 characters, got 16")
		_, err = ident.USCCCheck("9144030019220382Z")
		wantInvalid(t, err, "character 17 is 'Z', not in the USCC alphabet (I, O, Z, S, V are never used)")
	})
	t.Run("OrgCodeCheck", func(t *testing.T) {
		// 19220382: 3+63+18+20+0+24+32+4 = 164, 164 mod 11 = 10, 11-10 = 1.
		// D2143569 is the classic GB 11714 textbook example (check X).
		for in, want := range map[string]byte{
			"19220382": '1',
			"MA01ABCD": '5',
			"10000018": 'X',
			"D2143569": 'X',
		} {
			if got, err := ident.OrgCodeCheck(in); err != nil || got != want {
				t.Errorf("OrgCodeCheck(%q) = %q, %v; want %q", in, got, err, want)
			}
		}
		_, err := ident.OrgCodeCheck("1922038")
		wantInvalid(t, err, "organisation code prefix must have 8 characters, got 7")
		_, err = ident.OrgCodeCheck("1922-382")
		wantInvalid(t, err, "character 5 is '-', expected a digit or a letter")
	})
}

func TestAgeAt(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	mustParse := func(s string) ident.ID {
		t.Helper()
		id, err := ident.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	dec31 := mustParse("11010519491231002X") // born 1949-12-31
	feb29 := mustParse("110105200002290021") // born 2000-02-29
	tests := []struct {
		name string
		id   ident.ID
		t    time.Time
		loc  *time.Location
		want int
	}{
		{"day before birthday", dec31, date(2024, 12, 30), nil, 74},
		{"on birthday", dec31, date(2024, 12, 31), nil, 75},
		{"day after birthday", dec31, date(2025, 1, 1), time.UTC, 75},
		{"on birth date", dec31, date(1949, 12, 31), nil, 0},
		{"before birth", dec31, date(1949, 12, 30), nil, 0},
		{"Feb 28 non-leap", feb29, date(2021, 2, 28), nil, 20},
		{"Mar 1 non-leap", feb29, date(2021, 3, 1), nil, 21},
		{"Feb 28 leap", feb29, date(2024, 2, 28), nil, 23},
		{"Feb 29 leap", feb29, date(2024, 2, 29), nil, 24},
		{"Feb 28 2100 not leap", feb29, date(2100, 2, 28), nil, 99},
		{"Mar 1 2100", feb29, date(2100, 3, 1), nil, 100},
		// 2024-12-30 16:30 UTC is 2024-12-31 00:30 in Shanghai.
		{"near midnight UTC", dec31, time.Date(2024, 12, 30, 16, 30, 0, 0, time.UTC), time.UTC, 74},
		{"near midnight Shanghai", dec31, time.Date(2024, 12, 30, 16, 30, 0, 0, time.UTC), shanghai, 75},
		{"Shanghai instant in UTC", dec31, time.Date(2024, 12, 31, 7, 59, 0, 0, shanghai), nil, 74},
		{"Shanghai instant in Shanghai", dec31, time.Date(2024, 12, 31, 7, 59, 0, 0, shanghai), shanghai, 75},
		{"Mar 1 Shanghai, Feb 28 UTC", feb29, time.Date(2021, 2, 28, 20, 0, 0, 0, time.UTC), shanghai, 21},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.id.AgeAt(tt.t, tt.loc); got != tt.want {
				t.Errorf("AgeAt(%v, %v) = %d, want %d", tt.t, tt.loc, got, tt.want)
			}
		})
	}
	t.Run("no birth date", func(t *testing.T) {
		for _, s := range []string{"914403001922038216", "P:CHN:E12345678"} {
			id := mustParse(s)
			if got, want := id.AgeAt(date(2024, 1, 1), nil), -1; got != want {
				t.Errorf("%s AgeAt = %d, want %d", s, got, want)
			}
			if id.HasBirth() {
				t.Errorf("%s HasBirth = true", s)
			}
		}
		if !dec31.HasBirth() {
			t.Error("RIC HasBirth = false")
		}
	})
}

func TestSchemeString(t *testing.T) {
	for s, want := range map[ident.Scheme]string{ident.RIC: "ric", ident.USCC: "uscc", ident.Passport: "passport", 0: "unknown"} {
		if got := s.String(); got != want {
			t.Errorf("Scheme(%d).String() = %q, want %q", s, got, want)
		}
	}
}

func TestRegistrationAuthorityName(t *testing.T) {
	want := map[byte]string{
		'1': "establishment office", '2': "foreign affairs", '3': "judicial administration",
		'4': "culture", '5': "civil affairs", '6': "tourism", '7': "religious affairs",
		'8': "trade union", '9': "market regulation", 'A': "central military commission",
		'N': "agriculture", 'Y': "other", 'B': "",
	}
	for c, name := range want {
		t.Run(string(c), func(t *testing.T) {
			id := ident.ID{Scheme: ident.USCC, RegAuthority: c}
			if got := id.RegistrationAuthorityName(); got != name {
				t.Errorf("got %q, want %q", got, name)
			}
		})
	}
	t.Run("parsed", func(t *testing.T) {
		id, err := ident.Parse("914403001922038216")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := id.RegistrationAuthorityName(), "market regulation"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("not a USCC", func(t *testing.T) {
		id := ident.ID{Scheme: ident.RIC, RegAuthority: '9'}
		if got := id.RegistrationAuthorityName(); got != "" {
			t.Errorf("got %q, want empty", got)
		}
	})
}

func TestProvinceName(t *testing.T) {
	want := map[string]string{
		"11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "Inner Mongolia",
		"21": "Liaoning", "22": "Jilin", "23": "Heilongjiang",
		"31": "Shanghai", "32": "Jiangsu", "33": "Zhejiang", "34": "Anhui", "35": "Fujian", "36": "Jiangxi", "37": "Shandong",
		"41": "Henan", "42": "Hubei", "43": "Hunan", "44": "Guangdong", "45": "Guangxi", "46": "Hainan",
		"50": "Chongqing", "51": "Sichuan", "52": "Guizhou", "53": "Yunnan", "54": "Tibet",
		"61": "Shaanxi", "62": "Gansu", "63": "Qinghai", "64": "Ningxia", "65": "Xinjiang",
		"71": "Taiwan", "81": "Hong Kong", "82": "Macao",
	}
	if got, want := len(want), 34; got != want {
		t.Fatalf("test table has %d provinces, want %d", got, want)
	}
	known := 0
	for i := 0; i < 100; i++ {
		code := string([]byte{byte('0' + i/10), byte('0' + i%10)})
		got := ident.ProvinceName(code)
		if got != want[code] {
			t.Errorf("ProvinceName(%q) = %q, want %q", code, got, want[code])
		}
		if got != "" {
			known++
		}
	}
	if got, want := known, 34; got != want {
		t.Errorf("%d known codes, want %d", got, want)
	}
	for _, code := range []string{"", "1", "110", "1a", "-1"} {
		if got := ident.ProvinceName(code); got != "" {
			t.Errorf("ProvinceName(%q) = %q, want empty", code, got)
		}
	}
}

func TestDistrictName(t *testing.T) {
	wantNames := []string{
		"Dongcheng", "Xicheng", "Chaoyang", "Fengtai", "Shijingshan", "Haidian", "Mentougou", "Fangshan",
		"Tongzhou", "Shunyi", "Changping", "Daxing", "Huairou", "Pinggu", "Miyun", "Yanqing",
	}
	wantCodes := []string{
		"110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111",
		"110112", "110113", "110114", "110115", "110116", "110117", "110118", "110119",
	}
	if got, want := len(ident.BeijingDistricts), 16; got != want {
		t.Fatalf("len(BeijingDistricts) = %d, want %d", got, want)
	}
	for i, code := range ident.BeijingDistricts {
		if got, want := code, wantCodes[i]; got != want {
			t.Errorf("BeijingDistricts[%d] = %q, want %q", i, got, want)
		}
		if got, want := ident.DistrictName(code), wantNames[i]; got != want {
			t.Errorf("DistrictName(%q) = %q, want %q", code, got, want)
		}
	}
	for _, code := range []string{"110103", "110104", "110100", "440300", ""} {
		if got := ident.DistrictName(code); got != "" {
			t.Errorf("DistrictName(%q) = %q, want empty", code, got)
		}
	}
	id, err := ident.Parse("11010519491231002X")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ident.DistrictName(id.Region), "Chaoyang"; got != want {
		t.Errorf("district of domain vector = %q, want %q", got, want)
	}
}

func TestCountryTable(t *testing.T) {
	codes := strings.Fields(ident.Countries)
	if got, want := len(codes), 249; got != want {
		t.Errorf("%d country codes, want %d", got, want)
	}
	for i, c := range codes {
		if len(c) != 3 || strings.ToUpper(c) != c {
			t.Errorf("bad code %q", c)
		}
		if i > 0 && codes[i-1] >= c {
			t.Errorf("codes not sorted at %q, %q", codes[i-1], c)
		}
		if _, err := ident.ParsePassport("P:" + c + ":A12345"); err != nil {
			t.Errorf("country %s rejected: %v", c, err)
		}
	}
	for _, c := range []string{"XXX", "EUR", "UNK", "AAA", "ZZZ", "SUN"} {
		if _, err := ident.ParsePassport("P:" + c + ":A12345"); err == nil {
			t.Errorf("country %s accepted", c)
		}
	}
}

func BenchmarkParseRIC(b *testing.B) {
	var p ident.Parser
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.ParseRIC("11010519491231002X"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	for _, s := range []string{"11010519491231002X", "914403001922038216", "91110105MA01ABCD5F", "P:CHN:E12345678"} {
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ident.Parse(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
