package storetest

import (
	"fmt"
	"time"

	"credo"
)

// Test data: valid subject identifiers and plausible records, generated
// deterministically from an integer so that tests and benchmarks can make
// millions of distinct ones.

// ricRegions are the districts RIC numbers are issued in.
var ricRegions = []string{"110101", "110105", "310104", "440305", "510107", "330106", "420102"}

// RIC returns the n-th of 1.4e8 distinct valid Resident Identity Card
// numbers (region, birth date between 1950 and 2004, sequence and ISO 7064
// MOD 11-2 check character).
func RIC(n int) string {
	r := len(ricRegions)
	region := ricRegions[n%r]
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (n/r)%20000)
	first17 := fmt.Sprintf("%s%s%03d", region, birth.Format("20060102"), 1+(n/(r*20000))%999)
	return first17 + string(RICCheck(first17))
}

// RICCheck computes the ISO 7064 MOD 11-2 check character of the first 17
// digits of a RIC.
func RICCheck(first17 string) byte {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(first17[i]-'0') * w
	}
	return "10X98765432"[sum%11]
}

// USCC returns the n-th of 1e8 distinct valid Unified Social Credit Codes
// (a company registered by market regulation in Beijing's Dongcheng
// district, with valid organisation-code and USCC check characters).
func USCC(n int) string {
	org := fmt.Sprintf("%08d", n%100000000)
	weights := [8]int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(org[i]-'0') * w
	}
	var oc byte
	switch c := 11 - sum%11; c {
	case 10:
		oc = 'X'
	case 11:
		oc = '0'
	default:
		oc = byte('0' + c)
	}
	first17 := "91" + "110101" + org + string(oc)
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	uw := [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum = 0
	for i, w := range uw {
		v := 0
		for j := 0; j < len(alphabet); j++ {
			if alphabet[j] == first17[i] {
				v = j
				break
			}
		}
		sum += v * w
	}
	c := 31 - sum%31
	if c == 31 {
		c = 0
	}
	return first17 + string(alphabet[c])
}

// cst is China Standard Time, the zone authorities decide in.
var cst = time.FixedZone("CST", 8*3600)

// NewRecord returns the n-th of a series of distinct records: filed by
// authority, about person RIC(subject), with a case reference derived from
// n. The store assigns ID and FiledAt.
func NewRecord(authority string, n, subject int) *credo.Record {
	return &credo.Record{
		Subject:        RIC(subject),
		Rule:           "JUDGMENT_DEFAULT",
		Authority:      authority,
		CaseRef:        fmt.Sprintf("(2025)京0101执%d号", n),
		DecidedAt:      time.Date(2025, 1, 1, 9, 30, 0, 0, cst).Add(time.Duration(n%100000) * time.Minute),
		EvidenceSHA256: credo.HashBytes([]byte(fmt.Sprintf("evidence %s %d", authority, n))),
		EvidenceURI:    fmt.Sprintf("https://evidence.example/%s/%d", authority, n),
	}
}
