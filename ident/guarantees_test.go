package ident_test

import (
	"strings"
	"testing"

	"credo"
	"credo/ident"
)

// TestG04AmbiguousIdentifier holds issue 14 item 4: eighteen digits that
// have the whole structure of both a RIC and a USCC are never guessed,
// whichever reading passes its check characters.
func TestG04AmbiguousIdentifier(t *testing.T) {
	for _, tc := range []struct {
		in         string
		valid      credo.SubjectKind // the reading that passes its checks
		other      credo.SubjectKind
		prefix     string
		wantReason string
	}{
		// A valid ID card number; as a USCC only its check character is wrong.
		{"331101196109044709", credo.Person, credo.Org, "RIC:", "USCC: check character is 9, expected D"},
		// A valid USCC; as an ID card number only its check character is
		// wrong: a mistyped ID card number must not become a company.
		{"131101191905202339", credo.Org, credo.Person, "USCC:", "RIC: check character is 9, expected 3"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ident.Parse(tc.in)
			if !ident.IsAmbiguous(err) {
				t.Fatalf("Parse(%q) = %v, want an ambiguity error", tc.in, err)
			}
			if msg := credo.ErrorMessage(err); !strings.Contains(msg, "person or org") || !strings.Contains(msg, tc.wantReason) {
				t.Errorf("message %q", msg)
			}
			id, err := ident.ParseAs(tc.in, tc.valid)
			if err != nil || id.Kind != tc.valid || id.Canonical != tc.prefix+tc.in {
				t.Fatalf("ParseAs(%v) = %+v, %v", tc.valid, id, err)
			}
			again, err := ident.Parse(id.Canonical)
			if err != nil || again != id {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", id.Canonical, again, err, id)
			}
			if _, err := ident.ParseAs(tc.in, tc.other); err == nil {
				t.Fatalf("ParseAs(%v) accepted", tc.other)
			}
		})
	}
	t.Run("the kind and the prefix must agree", func(t *testing.T) {
		if _, err := ident.ParseAs("RIC:331101196109044709", credo.Org); err == nil {
			t.Fatal("accepted")
		}
		if _, err := ident.ParseAs("P:CHN:E12345678", credo.Org); err == nil {
			t.Fatal("passport accepted as an organisation")
		}
	})
	t.Run("unambiguous forms keep their bare canonical form", func(t *testing.T) {
		for s, k := range map[string]credo.SubjectKind{"11010519491231002X": credo.Person, "914403001922038216": credo.Org} {
			id, err := ident.ParseAs(s, k)
			if err != nil || id.Canonical != s {
				t.Errorf("ParseAs(%s, %v) = %+v, %v", s, k, id, err)
			}
			if id, err := ident.Parse("ric:" + s); k == credo.Person && (err != nil || id.Canonical != s) {
				t.Errorf("Parse(ric:%s) = %+v, %v", s, id, err)
			}
		}
	})
}

// TestG04DivisionAndRegistrationCodes holds issue 14 item 4: the whole
// six-digit GB/T 2260 code is checked (codes abolished since stay valid for
// those born while they were in force), and the USCC registration
// department and category codes.
func TestG04DivisionAndRegistrationCodes(t *testing.T) {
	mk := func(first17 string) string {
		c, err := ident.RICCheck(first17)
		if err != nil {
			t.Fatal(err)
		}
		return first17 + string(c)
	}
	mkUSCC := func(first16 string) string {
		oc, err := ident.OrgCodeCheck(first16[8:16])
		if err != nil {
			t.Fatal(err)
		}
		c, err := ident.USCCCheck(first16 + string(oc))
		if err != nil {
			t.Fatal(err)
		}
		return first16 + string(oc) + string(c)
	}
	for _, tc := range []struct{ in, want string }{
		{mk("11019919800101001"), "not a valid ID card number (RIC): unknown region code 110199 (not a GB/T 2260 division code)"},
		{mk("11010320120101001"), "not a valid ID card number (RIC): region code 110103 was last in force in 2010, before the birth date 20120101"},
		{mkUSCC("9411010512345678"), "not a valid unified social credit code (USCC): character 2 is '4', not an institution category of registration department 9 (工商)"},
		{mkUSCC("B111010512345678"), "not a valid unified social credit code (USCC): character 1 is 'B', not a registration department of GB 32100 (1-9, A, N, Y)"},
		{mkUSCC("9111019912345678"), "not a valid unified social credit code (USCC): unknown region code 110199 (not a GB/T 2260 division code)"},
	} {
		_, err := ident.Parse(tc.in)
		wantInvalid(t, err, tc.want)
	}
	for _, s := range []string{
		mk("11010319800101001"),    // Chongwen, abolished in 2010, for someone born in 1980
		mkUSCC("91100000MA01ABCD"), // registered nationally
		mkUSCC("N2110105MA01ABCD"), // a village collective (N: agriculture)
		mkUSCC("A1110105MA01ABCD"), // a military institution
	} {
		if _, err := ident.Parse(s); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
	if id, err := ident.Parse(mk("11011919500101001")); err != nil || !strings.Contains(id.Warning(), "came into force in 2015") {
		t.Errorf("Yanqing district code for someone born in 1950: %+v, %v, warning %q", id, err, id.Warning())
	}
	if got, want := ident.RegionName("110105"), "朝阳区"; got != want {
		t.Errorf("RegionName = %q, want %q", got, want)
	}
}

// TestG04ErrorNamesTheScheme holds issue 14 item 4: a rejection names the
// scheme the input most resembles.
func TestG04ErrorNamesTheScheme(t *testing.T) {
	for _, tc := range []struct{ in, want, not string }{
		// An all-digit code of a public institution with a wrong
		// organisation check: a company code, not an ID card number.
		{"121100004000000001", "unified social credit code (USCC)", "ID card"},
		{"914403001922038217", "unified social credit code (USCC)", "ID card"},
		{"110105194912310021", "ID card number (RIC)", "USCC"},
		{"110105194913310021", "ID card number (RIC)", "USCC"},
		{"１１０１０５１９４９１２３１００２Ｘ", "full-width", "USCC"},
		{"11010519491231002Ｘ", "full-width", "USCC"},
		{"９１４４０３００１９２２０３８２１６", "full-width", "ID card"},
	} {
		_, err := ident.Parse(tc.in)
		msg := credo.ErrorMessage(err)
		if err == nil || !strings.Contains(msg, tc.want) || strings.Contains(msg, tc.not) {
			t.Errorf("Parse(%q): %q, want it to name %q and not %q", tc.in, msg, tc.want, tc.not)
		}
	}
}
