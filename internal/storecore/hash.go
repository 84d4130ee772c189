package storecore

import (
	"encoding/hex"
	"fmt"
)

// The hash columns of the log (events.hash and prev_hash, the recorded
// head, the projection audit) hold the 32 bytes of a SHA-256; the Go side
// and the API speak hex. RawHash and HashScan convert at the column.

// RawHash returns the bytes of a hex hash for a hash column: empty for
// "" (the prev_hash of the first event, the head of an empty log).
func RawHash(h string) []byte {
	b, err := hex.DecodeString(h)
	if err != nil {
		// Hashes are computed by the store; a malformed one is a bug.
		panic(fmt.Sprintf("storecore: %q is not a hex hash", h))
	}
	if b == nil {
		b = []byte{}
	}
	return b
}

// HashScan reads a hash column as hex: Hex is "" and Valid false for NULL.
type HashScan struct {
	Hex   string
	Valid bool
}

// Scan implements sql.Scanner. A hash column holds bytes: text is the
// format before the compact encoding (EncodingVersion 1), which a store
// refuses to open, so it is an error here rather than read as it is.
func (h *HashScan) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		h.Hex, h.Valid = "", false
	case []byte:
		if len(v) != 0 && len(v) != 32 {
			return fmt.Errorf("a hash column holds %d bytes, not 32", len(v))
		}
		h.Hex, h.Valid = hex.EncodeToString(v), true
	default:
		return fmt.Errorf("a hash column holds a %T, not bytes (a log in the format before the compact encoding?)", src)
	}
	return nil
}

// Ptr returns the hex hash, or nil for NULL.
func (h *HashScan) Ptr() *string {
	if !h.Valid {
		return nil
	}
	s := h.Hex
	return &s
}
