package sqlite_test

import (
	"bytes"
	"testing"

	"credo"
)

// TestE07EnsureSubjectKeysStoredFirst: EnsureSubjectKeys returns, for
// each pseudonym, the key stored: the one given when it inserted it, the
// one stored before (another writer's) when there was one, never the one
// given in its place.
func TestE07EnsureSubjectKeysStoredFirst(t *testing.T) {
	db, _ := openDB(t)
	key := func(p, w string) credo.SubjectKey {
		return credo.SubjectKey{Pseudonym: p, KEKID: "k1", Wrapped: []byte(w), SealedID: []byte("id " + w)}
	}
	if _, err := db.EnsureSubjectKeys(ctx, []credo.SubjectKey{key("p~one", "first")}); err != nil {
		t.Fatal(err)
	}
	got, err := db.EnsureSubjectKeys(ctx, []credo.SubjectKey{key("p~one", "second"), key("p~two", "new")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"p~one": "first", "p~two": "new"}
	if len(got) != len(want) {
		t.Fatalf("got %d keys, want %d: %+v", len(got), len(want), got)
	}
	for _, k := range got {
		if w := want[k.Pseudonym]; !bytes.Equal(k.Wrapped, []byte(w)) || !bytes.Equal(k.SealedID, []byte("id "+w)) {
			t.Errorf("key of %s: %q, want %q", k.Pseudonym, k.Wrapped, w)
		}
	}
	stored, err := db.SubjectKeys(ctx, []string{"p~one", "p~two"})
	if err != nil || len(stored) != 2 {
		t.Fatalf("stored %+v, %v", stored, err)
	}
}
