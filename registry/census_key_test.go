package registry

import (
	"slices"
	"strings"
	"testing"
)

// TestCensusKeys: a subject's key gives its identifier back, RIC-shaped
// identifiers (a check digit or X) as their digits, others numbered; and
// the keys of RIC-shaped identifiers are in the identifiers' order.
func TestCensusKeys(t *testing.T) {
	s := &censusState{names: map[string]uint64{}}
	ids := []string{"110105199001011232", "11010519900101123X", "000000000000000000", "999999999999999999", "99999999999999999X",
		"91110000600037341L", "P:CHN:E12345678", "11010519900101123x", "1101051990010112", "110105199001011233"}
	var ric []uint64
	for _, id := range ids {
		k := s.key(id)
		if got := s.subject(k); got != id {
			t.Errorf("%s: key %x gives %s", id, k, got)
		}
		if s.key(id) != k {
			t.Errorf("%s: two keys", id)
		}
		if _, isRIC := ricKey(id); isRIC != (k&censusNamed == 0) {
			t.Errorf("%s: key %x", id, k)
		} else if isRIC {
			ric = append(ric, k)
		}
	}
	if len(s.nameOf) != 4 {
		t.Errorf("numbered %v", s.nameOf)
	}
	byKey := slices.Clone(ric)
	slices.Sort(byKey)
	var strs, fromKeys []string
	for _, k := range ric {
		strs = append(strs, s.subject(k))
	}
	for _, k := range byKey {
		fromKeys = append(fromKeys, s.subject(k))
	}
	slices.SortFunc(strs, strings.Compare)
	if !slices.Equal(strs, fromKeys) {
		t.Errorf("keys out of order: %v, %v", strs, fromKeys)
	}
}
