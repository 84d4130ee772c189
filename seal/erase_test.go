package seal_test

import (
	"context"
	"testing"

	"credo"
	"credo/seal"
	"credo/storetest"
)

// TestE01EventsGaplessAfterErasure: after an erasure, whole-log reads keep
// every sequence number (a tailer never sees a gap) with the erased
// subject's events redacted (no subject, no party of a link), per-subject
// reads return nothing, and the store still verifies.
func TestE01EventsGaplessAfterErasure(t *testing.T) {
	ctx := context.Background()
	s, reopen := openSealed(t)
	gone, stays := storetest.NewRecord("court.test", 1, 1), storetest.NewRecord("court.test", 2, 2)
	gone.SubjectName = "Secret Name"
	if _, err := s.FileRecords(ctx, []*credo.Record{gone, stays}); err != nil {
		t.Fatal(err)
	}
	org := storetest.USCC(5)
	if _, err := s.Append(ctx, []*credo.Event{{Type: credo.EventLinkAdded, Subject: org, Actor: "admin",
		Link: &credo.Link{Org: org, Person: gone.Subject, Role: credo.RoleLegalRepresentative, From: gone.DecidedAt}}}); err != nil {
		t.Fatal(err)
	}
	ev, err := s.Erase(ctx, gone.Subject, credo.Erasure{Reason: "court order", LegalBasis: "PIPL art 47"})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Subject == gone.Subject || !seal.IsPseudonym(ev.Subject) {
		t.Errorf("the erasure event names %q", ev.Subject)
	}
	if _, err := s.Erase(ctx, gone.Subject, credo.Erasure{Reason: "again", LegalBasis: "x"}); credo.ErrorCode(err) != credo.ENOTFOUND {
		t.Errorf("erasing twice: %v", err)
	}
	check := func(s *seal.Store) {
		t.Helper()
		evs, err := s.Events(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 4 {
			t.Fatalf("%d events, want 4", len(evs))
		}
		for i, ev := range evs {
			if ev.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d", i, ev.Seq)
			}
			if ev.Subject == gone.Subject || ev.Record != nil && (ev.Record.SubjectName != "" && ev.Record.Subject != stays.Subject) {
				t.Errorf("event %d reads the erased subject: %+v", ev.Seq, ev)
			}
			if ev.Link != nil && ev.Link.Person != "" {
				t.Errorf("the link names %q", ev.Link.Person)
			}
		}
		if evs[0].Subject != "" || evs[1].Subject != stays.Subject || evs[2].Subject != org {
			t.Errorf("subjects %q %q %q", evs[0].Subject, evs[1].Subject, evs[2].Subject)
		}
		if got, _ := s.SubjectEvents(ctx, gone.Subject); len(got) != 0 {
			t.Errorf("%d events of the erased subject", len(got))
		}
		if got, _ := s.LinkedOrgs(ctx, gone.Subject); len(got) != 0 {
			t.Errorf("the erased subject's organisations: %v", got)
		}
		if got, _ := s.LinkedPersons(ctx, org); len(got) != 0 {
			t.Errorf("the organisation's persons: %v", got)
		}
		if res, err := s.Verify(ctx); err != nil || !res.OK {
			t.Errorf("verify: %+v %v", res, err)
		}
		if res, err := s.VerifyProjections(ctx); err != nil || !res.OK {
			t.Errorf("projections: %+v %v", res, err)
		}
	}
	check(s)
	s.Close()
	check(reopen(t))
}
