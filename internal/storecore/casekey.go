package storecore

import (
	"crypto/sha256"
	"encoding/binary"
)

// CaseKey is the 64-bit key the SQLite store indexes a record's identity
// (authority, case reference) by: the first eight bytes of a SHA-256 of
// both, as a signed integer. It replaces an index over the two strings
// (about 60 bytes a record, most of it the case reference or, in a sealed
// registry, its 28-character keyed hash) with one over an integer. Two
// identities may share a key; a lookup by key therefore reads the
// candidates' record.filed events and keeps those whose authority and case
// reference are the ones asked for.
func CaseKey(authority, caseRef string) int64 {
	var buf [256]byte
	b := append(buf[:0], "credo case key\x00"...)
	b = append(b, authority...)
	b = append(b, 0)
	b = append(b, caseRef...)
	sum := sha256.Sum256(b)
	return int64(binary.BigEndian.Uint64(sum[:8]))
}
