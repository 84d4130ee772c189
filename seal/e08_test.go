package seal_test

import (
	"context"
	"testing"

	"credo"
	"credo/seal"
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
