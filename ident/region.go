package ident

import (
	"cmp"
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// provinces maps the 34 province-level GB/T 2260 codes to English names.
var provinces = [100]string{
	11: "Beijing",
	12: "Tianjin",
	13: "Hebei",
	14: "Shanxi",
	15: "Inner Mongolia",
	21: "Liaoning",
	22: "Jilin",
	23: "Heilongjiang",
	31: "Shanghai",
	32: "Jiangsu",
	33: "Zhejiang",
	34: "Anhui",
	35: "Fujian",
	36: "Jiangxi",
	37: "Shandong",
	41: "Henan",
	42: "Hubei",
	43: "Hunan",
	44: "Guangdong",
	45: "Guangxi",
	46: "Hainan",
	50: "Chongqing",
	51: "Sichuan",
	52: "Guizhou",
	53: "Yunnan",
	54: "Tibet",
	61: "Shaanxi",
	62: "Gansu",
	63: "Qinghai",
	64: "Ningxia",
	65: "Xinjiang",
	71: "Taiwan",
	81: "Hong Kong",
	82: "Macao",
}

// provinceCode returns the English name of a two-digit province code, or ""
// if code is not two digits or not a province-level code. It never allocates.
func provinceCode(code string) string {
	if len(code) != 2 || !isDigit(code[0]) || !isDigit(code[1]) {
		return ""
	}
	return provinces[int(code[0]-'0')*10+int(code[1]-'0')]
}

// ProvinceName returns the English name of a two-digit GB/T 2260
// province-level code ("11" is "Beijing"), or "" for an unknown code.
func ProvinceName(code2 string) string { return provinceCode(code2) }

// BeijingDistricts lists the GB/T 2260 codes of Beijing's 16 districts.
var BeijingDistricts = []string{
	"110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111",
	"110112", "110113", "110114", "110115", "110116", "110117", "110118", "110119",
}

// DistrictName returns the English name of one of Beijing's 16 districts
// from its six-digit GB/T 2260 code, or "" for any other code.
func DistrictName(region6 string) string {
	switch region6 {
	case "110101":
		return "Dongcheng"
	case "110102":
		return "Xicheng"
	case "110105":
		return "Chaoyang"
	case "110106":
		return "Fengtai"
	case "110107":
		return "Shijingshan"
	case "110108":
		return "Haidian"
	case "110109":
		return "Mentougou"
	case "110111":
		return "Fangshan"
	case "110112":
		return "Tongzhou"
	case "110113":
		return "Shunyi"
	case "110114":
		return "Changping"
	case "110115":
		return "Daxing"
	case "110116":
		return "Huairou"
	case "110117":
		return "Pinggu"
	case "110118":
		return "Miyun"
	case "110119":
		return "Yanqing"
	}
	return ""
}

// The GB/T 2260 division codes and the GB 32100 registration codes, as
// embedded data (see the header lines of each file for its source).
var (
	//go:embed data/gbt2260-regions.tsv
	regionsTSV string
	//go:embed data/uscc-codes.tsv
	usccCodesTSV string
)

// division is one GB/T 2260 code with the years it was in force.
type division struct {
	code        int32
	first, last int16 // 0: in use before records begin / still in force
	name        string
}

// divisions holds every code ever in force, sorted by code.
var divisions = loadDivisions(regionsTSV)

// usccCategories[c] is a bit set of the category values (USCC character 2,
// by usccValue) known for registration department c (character 1);
// usccNames holds their names.
var usccCategories, usccNames = loadUSCCCodes(usccCodesTSV)

// dataLines calls f with the fields of each data line of an embedded TSV
// file (after its comment lines and its header line).
func dataLines(src string, f func(fields []string)) {
	header := true
	for line := range strings.Lines(src) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		if header {
			header = false
			continue
		}
		f(strings.Split(line, "\t"))
	}
}

func loadDivisions(src string) []division {
	var ds []division
	year := func(s string) int16 {
		if s == "" {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			panic("ident: bad year in embedded GB/T 2260 table: " + s)
		}
		return int16(n)
	}
	dataLines(src, func(f []string) {
		if len(f) != 4 || len(f[0]) != 6 || firstNonDigit(f[0], 6) != nil {
			panic(fmt.Sprintf("ident: bad line in embedded GB/T 2260 table: %q", f))
		}
		ds = append(ds, division{code: int32(atoi(f[0])), name: f[1], first: year(f[2]), last: year(f[3])})
	})
	slices.SortFunc(ds, func(a, b division) int { return cmp.Compare(a.code, b.code) })
	return ds
}

func loadUSCCCodes(src string) (cats [256]uint32, names map[[2]byte][2]string) {
	names = make(map[[2]byte][2]string)
	dataLines(src, func(f []string) {
		if len(f) != 4 || len(f[0]) != 1 || len(f[2]) != 1 || usccValue[f[0][0]] < 0 || usccValue[f[2][0]] < 0 {
			panic(fmt.Sprintf("ident: bad line in embedded USCC code table: %q", f))
		}
		cats[f[0][0]] |= 1 << usccValue[f[2][0]]
		names[[2]byte{f[0][0], f[2][0]}] = [2]string{f[1], f[3]}
	})
	return cats, names
}

// divisionCodes are the codes of divisions, and provinceStart[pp] the
// index of the first code of province pp (provinceStart[pp+1] is past its
// last): a lookup searches a few hundred int32s.
var divisionCodes, provinceStart = func() ([]int32, [101]int32) {
	codes := make([]int32, len(divisions))
	var start [101]int32
	for i, d := range divisions {
		codes[i] = d.code
	}
	for pp := 0; pp <= 100; pp++ {
		start[pp] = int32(len(codes))
		for i, c := range codes {
			if c >= int32(pp)*10000 {
				start[pp] = int32(i)
				break
			}
		}
	}
	return codes, start
}()

// lookupDivision returns the division of a six-digit code, or nil. It
// never allocates.
func lookupDivision(code6 string) *division {
	if len(code6) != 6 {
		return nil
	}
	n := int32(0)
	for i := 0; i < 6; i++ {
		if !isDigit(code6[i]) {
			return nil
		}
		n = n*10 + int32(code6[i]-'0')
	}
	pp := n / 10000
	lo, hi := int(provinceStart[pp]), int(provinceStart[pp+1])
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if divisionCodes[m] < n {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(divisionCodes) && divisionCodes[lo] == n {
		return &divisions[lo]
	}
	return nil
}

// RegionName returns the (latest) Chinese name of a six-digit GB/T 2260
// division code, including codes abolished since, or "" for a code that
// was never in force.
func RegionName(code6 string) string {
	if d := lookupDivision(code6); d != nil {
		return d.name
	}
	return ""
}

// RegionYears returns the first and last year a GB/T 2260 code was in
// force (0: before records begin, or still in force) and whether the code
// is known at all.
func RegionYears(code6 string) (first, last int, ok bool) {
	d := lookupDivision(code6)
	if d == nil {
		return 0, 0, false
	}
	return int(d.first), int(d.last), true
}

// usccNational is the region code of organisations registered by a
// national authority; it is not a division of GB/T 2260.
const usccNational = "100000"

// knownUSCCType reports whether characters 1-2 of a USCC are a known
// registration department and institution category.
func knownUSCCType(dept, cat byte) bool {
	v := usccValue[cat]
	return v >= 0 && usccCategories[dept]&(1<<v) != 0
}

// USCCTypeNames returns the Chinese names of a USCC's registration
// department and institution category (characters 1 and 2), or "" for
// unknown codes.
func USCCTypeNames(dept, cat byte) (department, category string) {
	n := usccNames[[2]byte{dept, cat}]
	return n[0], n[1]
}
