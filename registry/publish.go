package registry

import (
	"strings"

	"credo/ident"
)

// The publication rules of public lists: which fields are shown, how an
// identifier is masked, and how a lookup matches an entry. The API and the
// portal both publish lists by them.

// PublishedFields are the fields of a public list that are shown: those
// the policy publishes, but never the age. With the district and the
// sequence number a masked identifier shows, the age narrows a person's
// number to a few dozen candidates (the check character to a handful): a
// listed person could be unmasked from the list alone.
func PublishedFields(fields []string) []string {
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		if f != "age" {
			out = append(out, f)
		}
	}
	return out
}

// MatchEntry returns the test of a public list entry against a query q
// (the API's and the portal's lookups): an identifier (whole, or masked as
// the list shows it) if parse takes q for one, else a case-insensitive
// substring of the name.
//
// An identifier is compared in its masked form: a caller who knows a
// person's number finds the entries shown under its mask, and every
// number with the same mask gets the same answer, so the lookup cannot
// confirm which of the numbers a masked entry could be is the right one.
func MatchEntry(q string, parse func(string) (ident.ID, error)) func(ListEntry) bool {
	if q == "" {
		return func(ListEntry) bool { return true }
	}
	if id, err := parse(q); err == nil {
		m := MaskIdentifier(id)
		return func(e ListEntry) bool { return MaskIdentifier(e.ID) == m }
	}
	if mq := strings.ToUpper(q); len(mq) == 18 && strings.Contains(mq, "*") {
		return func(e ListEntry) bool { return MaskIdentifier(e.ID) == mq }
	}
	lq := strings.ToLower(q)
	return func(e ListEntry) bool { return e.Name != "" && strings.Contains(strings.ToLower(e.Name), lq) }
}

// MaskIdentifier hides the birth date and the check character of a
// Resident Identity Card number: the district (6 digits) and the sequence
// number (3) stay, so that namesakes can be told apart, but nothing that
// narrows the birth date (about 36,000 numbers share one mask).
// Organisation codes and passports are shown whole.
func MaskIdentifier(id ident.ID) string {
	if id.Scheme == ident.RIC && len(id.Canonical) == 18 {
		return id.Canonical[:6] + "********" + id.Canonical[14:17] + "*"
	}
	return id.Canonical
}
