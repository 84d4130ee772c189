package seal_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"credo"
	"credo/seal"
	"credo/sqlite"
	"credo/storetest"
)

// openAt opens a sealed store over the SQLite file at path; before, if
// given, runs on the raw store first.
func openAt(t *testing.T, path string, keys *seal.Keys, before func(*sqlite.DB)) (*seal.Store, error) {
	t.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(db)
	}
	s, err := seal.Open(context.Background(), db, keys, seal.Options{Ledger: seal.LedgerPath(path)})
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// sealV1 records in a new store what a Credo that predates the recorded
// lengths (format v1) writes when it seals one: the two check values and
// "sealed" = "v1", and no lengths.
func sealV1(t *testing.T, keys *seal.Keys) func(*sqlite.DB) {
	return func(db *sqlite.DB) {
		for _, kv := range [][2]string{{"kek_check", keys.KEKCheck()}, {"lookup_check", keys.LookupCheck()}, {"sealed", "v1"}} {
			if err := db.SetSealInfo(context.Background(), kv[0], kv[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// fileAndFind files two records of one subject and a record of another,
// and returns the first record as the store under the seal keeps it.
func fileAndFind(t *testing.T, s *seal.Store) *credo.Record {
	t.Helper()
	ctx := context.Background()
	rs := []*credo.Record{storetest.NewRecord("court.test", 1, 1), storetest.NewRecord("court.test", 2, 1), storetest.NewRecord("court.test", 3, 2)}
	if _, err := s.FileRecords(ctx, rs); err != nil {
		t.Fatal(err)
	}
	raw, err := s.Unwrap().RecordByCase(ctx, "court.test", s.CaseRef("court.test", rs[0].CaseRef))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// found checks that a reopened store finds what fileAndFind filed.
func found(t *testing.T, s *seal.Store) {
	t.Helper()
	ctx := context.Background()
	evs, err := s.SubjectEvents(ctx, storetest.RIC(1))
	if err != nil || len(evs) != 2 {
		t.Fatalf("subject 1 has %d events (%v), want 2", len(evs), err)
	}
	r, err := s.RecordByCase(ctx, "court.test", storetest.NewRecord("court.test", 3, 2).CaseRef)
	if err != nil || r.Subject != storetest.RIC(2) || r.EvidenceURI == "" {
		t.Fatalf("record 3: %+v, %v", r, err)
	}
	// Filing the same record again is a re-filing: the seal's bytes are
	// the format's.
	res, err := s.FileRecords(ctx, []*credo.Record{storetest.NewRecord("court.test", 1, 1)})
	if err != nil || res[0].Created {
		t.Fatalf("re-filing: %+v, %v", res, err)
	}
}

// TestSealedV1KeepsItsPseudonyms: a registry sealed before the lengths
// were recorded (format v1: no subject_bits, case_bits) keeps its 128-bit
// pseudonyms (26 base32 characters) and its ten-field seals when it is
// opened again, and finds its subjects.
func TestSealedV1KeepsItsPseudonyms(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credo.db")
	s, err := openAt(t, path, testKeys, sealV1(t, testKeys))
	if err != nil {
		t.Fatal(err)
	}
	raw := fileAndFind(t, s)
	if len(raw.Subject) != 2+26 || len(raw.CaseRef) != 2+26 || raw.Subject != s.Pseudonym(storetest.RIC(1)) {
		t.Errorf("v1 record kept as subject %q, case %q", raw.Subject, raw.CaseRef)
	}
	v1Seal := len(raw.Sealed)
	s.Close()

	s, err = openAt(t, path, testKeys, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	info, err := s.Unwrap().SealInfo(context.Background())
	if err != nil || info["sealed"] != "v1" || info["subject_bits"] != "" || info["case_bits"] != "" || info["lookup_check"] != testKeys.LookupCheck() {
		t.Errorf("v1 seal info after reopening: %v (%v)", info, err)
	}
	if p := s.Pseudonym(storetest.RIC(1)); p != raw.Subject {
		t.Errorf("reopened v1 registry names subject 1 %s, not %s", p, raw.Subject)
	}
	found(t, s)

	// The same record in a new registry: shorter names, and a seal
	// without the lengths of the eight empty fields (the record names no
	// subject name: only case reference and evidence URI are left).
	n, err := openAt(t, filepath.Join(t.TempDir(), "new.db"), testKeys, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if got := len(fileAndFind(t, n).Sealed); got != v1Seal-8 {
		t.Errorf("a record's seal is %d bytes in v2, %d in v1: want 8 fewer", got, v1Seal)
	}
}

// TestSealedV2ShortPseudonyms: a new registry records format v2 and its
// lengths, names subjects by 100-bit pseudonyms (20 characters) and cases
// by 80-bit hashes (16), and finds them again when reopened.
func TestSealedV2ShortPseudonyms(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credo.db")
	s, err := openAt(t, path, testKeys, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := fileAndFind(t, s)
	if len(raw.Subject) != 2+20 || len(raw.CaseRef) != 2+16 || raw.Subject != s.Pseudonym(storetest.RIC(1)) {
		t.Errorf("v2 record kept as subject %q, case %q", raw.Subject, raw.CaseRef)
	}
	evs, err := s.Unwrap().SubjectEvents(context.Background(), raw.Subject)
	if err != nil || len(evs) != 2 || evs[0].Subject != raw.Subject || evs[0].Record.CaseRef != raw.CaseRef {
		t.Fatalf("the store's events of %s: %d (%v)", raw.Subject, len(evs), err)
	}
	s.Close()

	s, err = openAt(t, path, testKeys, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	info, err := s.Unwrap().SealInfo(context.Background())
	if err != nil || info["sealed"] != "v2" || info["subject_bits"] != "100" || info["case_bits"] != "80" {
		t.Errorf("v2 seal info: %v (%v)", info, err)
	}
	// A Credo that predates v2 compares the lookup check value with its
	// own and refuses the registry, rather than look everyone up by a
	// 128-bit pseudonym and find no one.
	if info["lookup_check"] == testKeys.LookupCheck() {
		t.Error("a v2 registry records the v1 lookup check value: a v1 Credo would open it and find no one")
	}
	found(t, s)
}

// TestSealedFormatRefused: a registry whose recorded format is unknown,
// or whose lengths were edited or damaged, is refused, never opened with
// other pseudonyms; and so is one opened with another lookup secret.
func TestSealedFormatRefused(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, value, want string
	}{
		{"subject_bits", "128", "lookup secret is another"},
		{"case_bits", "100", "lookup secret is another"},
		{"case_bits", "", "case_bits"},
		{"subject_bits", "8", "subject_bits"},
		{"sealed", "v3", `format "v3"`},
		{"sealed", "v1", "lookup secret is another"},
	} {
		path := filepath.Join(t.TempDir(), "credo.db")
		s, err := openAt(t, path, testKeys, nil)
		if err != nil {
			t.Fatal(err)
		}
		fileAndFind(t, s)
		if err := s.Unwrap().SetSealInfo(ctx, c.name, c.value); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if s, err = openAt(t, path, testKeys, nil); err == nil {
			s.Close()
			t.Errorf("%s = %q: opened", c.name, c.value)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s = %q: %v, want %q", c.name, c.value, err, c.want)
		}
	}
	other := *testKeys
	other.Lookup[0] ^= 1
	path := filepath.Join(t.TempDir(), "credo.db")
	s, err := openAt(t, path, testKeys, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = openAt(t, path, &other, nil); err == nil {
		s.Close()
		t.Error("another lookup secret: opened")
	} else if !strings.Contains(err.Error(), "lookup secret is another") {
		t.Errorf("another lookup secret: %v", err)
	}
}
