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

// TestE08ErasedEventWithoutLedgerLine: a crash after the subject.erased
// event is appended but before the ledger line is written (and the key
// destroyed) leaves the key; opening the store again finds the event in
// the log, destroys the key and writes the missing ledger line.
func TestE08ErasedEventWithoutLedgerLine(t *testing.T) {
	ctx := context.Background()
	s, reopen := openSealed(t)
	r := storetest.NewRecord("court.test", 1, 1)
	if _, err := s.FileRecords(ctx, []*credo.Record{r}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = reopen(t) // the log read through its head
	if info, err := s.Unwrap().SealInfo(ctx); err != nil || info["erasures_through"] != "1" {
		t.Errorf("erasures read through %q (%v), want 1", info["erasures_through"], err)
	}
	p := s.Pseudonym(r.Subject)
	if !seal.IsPseudonym(p) {
		t.Fatalf("pseudonym %q", p)
	}
	// What Erase does up to the crash: the event only.
	if _, err := s.Unwrap().Append(ctx, []*credo.Event{{Type: credo.EventSubjectErased, Subject: p, Actor: "registry",
		Erasure: &credo.Erasure{Reason: "court order", LegalBasis: "PIPL art 47"}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = reopen(t)
	if s.Reapplied() != 1 {
		t.Errorf("reapplied %d, want 1", s.Reapplied())
	}
	if ks, err := s.Unwrap().SubjectKeys(ctx, []string{p}); err != nil || len(ks) != 0 {
		t.Fatalf("the key survives the erasure event: %d %v", len(ks), err)
	}
	if evs, _ := s.SubjectEvents(ctx, r.Subject); len(evs) != 0 {
		t.Errorf("%d events of the erased subject", len(evs))
	}
	if _, err := s.Erase(ctx, r.Subject, credo.Erasure{Reason: "again", LegalBasis: "x"}); credo.ErrorCode(err) != credo.ENOTFOUND {
		t.Errorf("erasing again: %v", err)
	}
}

// failingChecks is a backend whose check log cannot be deleted from: a
// crash (or failure) in the middle of shredding.
type failingChecks struct{ seal.Backend }

func (failingChecks) DeleteChecksOf(context.Context, string) (int64, error) {
	return 0, credo.Errorf(credo.EUNAVAILABLE, "check log unavailable")
}

// TestE08ShredKeepsKeyUntilChecksDeleted: an erasure interrupted before
// the checks run on the subject are deleted keeps the key, so that opening
// the store again finishes it; with the key destroyed first, the checks
// stayed for good (nothing re-applies an erasure whose key is gone).
func TestE08ShredKeepsKeyUntilChecksDeleted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "credo.db")
	open := func(wrap func(seal.Backend) seal.Backend) *seal.Store {
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := seal.Open(ctx, wrap(db), testKeys, seal.Options{Ledger: seal.LedgerPath(path)})
		if err != nil {
			db.Close()
			t.Fatal(err)
		}
		return s
	}
	s := open(func(b seal.Backend) seal.Backend { return failingChecks{b} })
	r := storetest.NewRecord("court.test", 1, 1)
	if _, err := s.FileRecords(ctx, []*credo.Record{r}); err != nil {
		t.Fatal(err)
	}
	if err := s.LogChecks(ctx, []credo.CheckEntry{{ID: "c1", Checker: "tok", Subject: r.Subject, Sector: "x", At: r.DecidedAt, Known: r.DecidedAt, Decision: "eligible"}}); err != nil {
		t.Fatal(err)
	}
	p := s.Pseudonym(r.Subject)
	if _, err := s.Erase(ctx, r.Subject, credo.Erasure{Reason: "court order", LegalBasis: "PIPL art 47"}); err == nil {
		t.Fatal("the erasure succeeded without deleting the checks")
	}
	s.Close()
	s = open(func(b seal.Backend) seal.Backend { return b })
	defer s.Close()
	if cs, err := s.Unwrap().ChecksOf(ctx, p, 10); err != nil || len(cs) != 0 {
		t.Errorf("%d checks of the erased subject remain (%v)", len(cs), err)
	}
	if ks, err := s.Unwrap().SubjectKeys(ctx, []string{p}); err != nil || len(ks) != 0 {
		t.Errorf("the key remains: %d %v", len(ks), err)
	}
}

// TestE08SubjectTokenNameSealed: the name on a subject token (its holder:
// the subject) is not stored in clear, reads back through the sealed
// store, and is gone once the subject is erased.
func TestE08SubjectTokenNameSealed(t *testing.T) {
	ctx := context.Background()
	s, _ := openSealed(t)
	r := storetest.NewRecord("court.test", 1, 1)
	if _, err := s.FileRecords(ctx, []*credo.Record{r}); err != nil {
		t.Fatal(err)
	}
	const name = "Zhang Sanfeng"
	if err := s.CreateToken(ctx, &credo.Token{ID: "tok_s", Hash: "h1", Role: credo.RoleSubject, Name: name, Subject: r.Subject}); err != nil {
		t.Fatal(err)
	}
	raw, err := s.Unwrap().Tokens(ctx)
	if err != nil || len(raw) != 1 {
		t.Fatalf("%d tokens: %v", len(raw), err)
	}
	if strings.Contains(raw[0].Name, name) || strings.Contains(raw[0].Subject, r.Subject) {
		t.Errorf("the store keeps the token in clear: %+v", raw[0])
	}
	tk, err := s.TokenByHash(ctx, "h1")
	if err != nil || tk.Name != name || tk.Subject != r.Subject {
		t.Fatalf("token read back: %+v %v", tk, err)
	}
	if _, err := s.Erase(ctx, r.Subject, credo.Erasure{Reason: "court order", LegalBasis: "PIPL art 47"}); err != nil {
		t.Fatal(err)
	}
	ts, err := s.Tokens(ctx)
	if err != nil || len(ts) != 1 || ts[0].Name != "" || ts[0].Subject != "" {
		t.Errorf("after erasure: %+v %v", ts, err)
	}
}

// failingTokens is a backend whose tokens cannot be listed.
type failingTokens struct{ seal.Backend }

func (failingTokens) Tokens(context.Context) ([]*credo.Token, error) {
	return nil, credo.Errorf(credo.EUNAVAILABLE, "tokens unavailable")
}

// TestE08ShredRevokesTokensBeforeKey: an erasure that cannot list the
// subject's tokens fails and keeps the key (opening again finishes it),
// rather than destroying the key and leaving the tokens unrevoked.
func TestE08ShredRevokesTokensBeforeKey(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "credo.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := seal.Open(ctx, failingTokens{db}, testKeys, seal.Options{Ledger: seal.LedgerPath(path)})
	if err != nil {
		t.Fatal(err)
	}
	r := storetest.NewRecord("court.test", 1, 1)
	if _, err := s.FileRecords(ctx, []*credo.Record{r}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, &credo.Token{ID: "tok_s", Hash: "h1", Role: credo.RoleSubject, Subject: r.Subject}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Erase(ctx, r.Subject, credo.Erasure{Reason: "court order", LegalBasis: "PIPL art 47"}); err == nil {
		t.Error("the erasure succeeded without revoking the tokens")
	}
	s.Close()
	db, err = sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err = seal.Open(ctx, db, testKeys, seal.Options{Ledger: seal.LedgerPath(path)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts, err := s.Unwrap().Tokens(ctx)
	if err != nil || len(ts) != 1 || ts[0].Revoked.IsZero() {
		t.Errorf("the erased subject's token is not revoked: %v", err)
	}
}
