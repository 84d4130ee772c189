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

// TestCensusSubjects: the subjects of a bulk build are sorted once (a
// subject put twice counts as put last); later puts update them in place
// or go to the map; a deleted subject is no longer found or listed.
func TestCensusSubjects(t *testing.T) {
	var m censusSubjects
	m.startBulk()
	for _, k := range []uint64{50, 10, 30, 10, 70} {
		m.put(k, subjectCensus{until: int64(k), shape: uint32(k)})
	}
	m.put(30, subjectCensus{until: 31, shape: 31})
	if dropped := m.seal(); len(dropped) != 2 || dropped[0].shape != 10 || dropped[1].shape != 30 {
		t.Errorf("dropped %v", dropped)
	}
	if sc, ok := m.get(30); !ok || sc.shape != 31 {
		t.Errorf("30: %v %v", sc, ok)
	}
	m.put(40, subjectCensus{shape: 4}) // new: the map
	m.put(50, subjectCensus{shape: 5}) // in place
	m.del(70)
	m.del(40)
	m.put(40, subjectCensus{shape: 44})
	if _, ok := m.get(70); ok {
		t.Error("70 deleted, still found")
	}
	if _, ok := m.get(20); ok {
		t.Error("20 never put, found")
	}
	got := map[uint64]uint32{}
	m.all(func(k uint64, sc subjectCensus) error { got[k] = sc.shape; return nil })
	want := map[uint64]uint32{10: 10, 30: 31, 40: 44, 50: 5}
	if len(got) != len(want) {
		t.Fatalf("all: %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("all: %v, want %v", got, want)
		}
	}
	if len(m.base) != 4 || len(m.extra) != 1 {
		t.Errorf("base %v, extra %v", m.base, m.extra)
	}
}
