package seal

import (
	"encoding/hex"
	"strconv"

	"credo"
)

// format is how a sealed registry names subjects and cases and lays out
// its seals. A registry records its format when it is sealed (SealInfo)
// and keeps it for life: its pseudonyms are in its log, its indexes and
// its erasure ledger.
type format struct {
	version     string // the seal_info value "sealed"
	subjectBits int    // of a subject pseudonym's keyed hash
	caseBits    int    // of a case reference's keyed hash
	// trim: the personal fields of a seal leave out their trailing empty
	// fields (v1 writes all ten)
	trim bool
}

// formatV1 is the format of every registry sealed before the lengths
// were recorded ("sealed" = "v1" and no subject_bits, case_bits): 128-bit
// keyed hashes (26 base32 characters) and all ten personal fields.
var formatV1 = format{version: "v1", subjectBits: 128, caseBits: 128}

// formatV2 is the format new registries are sealed with: 100-bit subject
// pseudonyms (20 characters), 80-bit case hashes (16 characters), trailing
// empty personal fields left out. See docs/threat-model.md for the
// collision bounds these lengths give at the city's size.
var formatV2 = format{version: "v2", subjectBits: 100, caseBits: 80, trim: true}

// The seal_info names of a v2 registry's lengths.
const (
	infoSubjectBits = "subject_bits"
	infoCaseBits    = "case_bits"
)

// The range of lengths a registry may record.
const minBits, maxBits = 64, 128

// formatOf reads the format a sealed registry records.
func formatOf(info map[string]string) (format, error) {
	switch v := info[infoSealed]; v {
	case formatV1.version:
		// Sealed by a Credo that recorded no lengths: 128 bits, for
		// ever. (A subject_bits left by an interrupted sealing that an
		// older Credo then finished means nothing here.)
		return formatV1, nil
	case formatV2.version:
		f := format{version: v, trim: true}
		for _, x := range []struct {
			name string
			dst  *int
		}{{infoSubjectBits, &f.subjectBits}, {infoCaseBits, &f.caseBits}} {
			n, err := strconv.Atoi(info[x.name])
			if err != nil || n < minBits || n > maxBits {
				return format{}, credo.Errorf(credo.EINVALID, "the registry is sealed in format %s but records %s = %q (want %d to %d bits): its seal_info was damaged or edited", v, x.name, info[x.name], minBits, maxBits)
			}
			*x.dst = n
		}
		return f, nil
	default:
		return format{}, credo.Errorf(credo.EINVALID, "the registry is sealed in format %q, which this Credo does not know (it knows v1 and v2): open it with the Credo that sealed it or a newer one", v)
	}
}

// info returns the seal_info values that record f (before "sealed").
func (f format) info() [][2]string {
	if f.version == formatV1.version {
		return nil
	}
	return [][2]string{{infoSubjectBits, strconv.Itoa(f.subjectBits)}, {infoCaseBits, strconv.Itoa(f.caseBits)}}
}

// lookupCheck is the check value a registry of format f records of the
// lookup secret. A v1 registry's is Keys.LookupCheck; a later one's also
// covers the format and its lengths, so that a Credo that predates them
// (which would name every subject by a 128-bit pseudonym and find no
// one) refuses the registry as sealed with another lookup secret, and so
// that edited lengths are refused rather than misread.
func (f format) lookupCheck(k *Keys) string {
	if f.version == formatV1.version {
		return k.LookupCheck()
	}
	return hex.EncodeToString(mac(k.Lookup[:], "credo lookup check\x00", f.version, "\x00subject_bits=", strconv.Itoa(f.subjectBits), "\x00case_bits=", strconv.Itoa(f.caseBits))[:16])
}
