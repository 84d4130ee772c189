package registry_test

import (
	"slices"
	"testing"

	"credo/ident"
	"credo/registry"
)

// TestH03PublicationRules: the publication rules of public lists, which
// the API and the portal both apply, live in the registry and hold there:
// never the age, an identity card number masked down to its district and
// sequence number, and a lookup by number that matches the mask.
func TestH03PublicationRules(t *testing.T) {
	if got := registry.PublishedFields([]string{"name", "identifier", "age", "region"}); !slices.Equal(got, []string{"name", "identifier", "region"}) {
		t.Errorf("PublishedFields = %v, want the age left out", got)
	}
	num := ric("11010519850315001")
	id, err := ident.Parse(num)
	if err != nil {
		t.Fatal(err)
	}
	mask := registry.MaskIdentifier(id)
	if want := "110105********001*"; mask != want {
		t.Errorf("MaskIdentifier(%s) = %q, want %q", num, mask, want)
	}
	twin, err := ident.Parse(ric("11010519900101001")) // same district and sequence, another birth date
	if err != nil {
		t.Fatal(err)
	}
	other, err := ident.Parse(ric("11010519850315002"))
	if err != nil {
		t.Fatal(err)
	}
	byNumber := registry.MatchEntry(num, ident.Parse)
	for _, c := range []struct {
		e    registry.ListEntry
		want bool
	}{
		{registry.ListEntry{ID: id}, true},
		{registry.ListEntry{ID: twin}, true}, // the lookup cannot tell numbers under one mask apart
		{registry.ListEntry{ID: other}, false},
	} {
		if got := byNumber(c.e); got != c.want {
			t.Errorf("match %s by number: %v, want %v", c.e.ID.Canonical, got, c.want)
		}
	}
	if !registry.MatchEntry(mask, ident.Parse)(registry.ListEntry{ID: id}) {
		t.Errorf("the mask %s does not find its entry", mask)
	}
	byName := registry.MatchEntry("wang", ident.Parse)
	if !byName(registry.ListEntry{ID: id, Name: "WANG Wei"}) || byName(registry.ListEntry{ID: id}) {
		t.Error("a name lookup is a case-insensitive substring of a named entry")
	}
	if !registry.MatchEntry("", ident.Parse)(registry.ListEntry{}) {
		t.Error("an empty query matches every entry")
	}
}
