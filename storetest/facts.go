package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"credo"
)

// engineTypes are the events the facts projection holds (the engine's).
var engineTypes = []credo.EventType{
	credo.EventRecordFiled, credo.EventRecordRevoked, credo.EventRecordFulfilled, credo.EventRepairApproved,
	credo.EventDisputeOpened, credo.EventDisputeDecided, credo.EventConsentGiven, credo.EventConsentWithdrawn,
	credo.EventLinkAdded, credo.EventLinkRemoved,
}

// testFacts: a store that keeps the facts projection gives, for every
// subject, the engine's events of its SubjectEvents, with every field the
// engine reads, whole or read in the ranges FactSplits cuts.
func testFacts(t *testing.T, s credo.Store) {
	fr, ok := s.(credo.FactsReader)
	if !ok {
		t.Skip("the store keeps no facts projection")
	}
	mixedLog(t, s)
	// More subjects, for the ranges.
	var rs []*credo.Record
	for i := 10; i < 60; i++ {
		rs = append(rs, NewRecord("court.beijing", i, i))
	}
	file(t, s, rs...)
	got := map[string][]credo.Event{}
	var order []string
	if err := fr.ScanFacts(ctx, "", "", func(subject string, evs []credo.Event) error {
		order = append(order, subject)
		got[subject] = evs
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Subjects come in the order of the store's keys, which are opaque
	// (a sealed store's are pseudonyms): each once.
	if len(order) != len(got) {
		t.Errorf("subjects twice: %v", order)
	}
	n := 0
	if err := s.Subjects(ctx, func(subject string) error {
		evs, err := s.SubjectEvents(ctx, subject)
		if err != nil {
			return err
		}
		var want []credo.Event
		for _, ev := range evs {
			if slices.Contains(engineTypes, ev.Type) {
				want = append(want, ev)
			}
		}
		have := got[subject]
		if len(have) != len(want) {
			t.Errorf("%s: %d facts, %d engine events", subject, len(have), len(want))
			return nil
		}
		for i := range want {
			if d := sameFact(&have[i], &want[i]); d != "" {
				t.Errorf("%s: fact %d (seq %d): %s", subject, i, want[i].Seq, d)
			}
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n < 60 {
		t.Errorf("only %d facts compared", n)
	}
	// Read in ranges, the same.
	splits, err := fr.FactSplits(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(splits) {
		t.Errorf("splits out of order: %v", splits)
	}
	bounds := append(append([]string{""}, splits...), "")
	var ranged []string
	for i := range len(bounds) - 1 {
		if err := fr.ScanFacts(ctx, bounds[i], bounds[i+1], func(subject string, evs []credo.Event) error {
			ranged = append(ranged, subject)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(ranged, order) {
		t.Errorf("read in ranges %v: %d subjects, whole %d", splits, len(ranged), len(order))
	}
}

// sameFact compares what the engine reads of an event.
func sameFact(got, want *credo.Event) string {
	if got.Seq != want.Seq || got.Type != want.Type || got.Subject != want.Subject || !got.Recorded.Equal(want.Recorded) {
		return fmt.Sprintf("event %d %s %s %v, want %d %s %s %v", got.Seq, got.Type, got.Subject, got.Recorded, want.Seq, want.Type, want.Subject, want.Recorded)
	}
	switch {
	case want.Record != nil:
		return sameRecordFact(got.Record, want.Record)
	case want.Change != nil:
		a, b := got.Change, want.Change
		if a == nil || a.RecordID != b.RecordID || !a.At.Equal(b.At) || a.VoidAbInitio != b.VoidAbInitio {
			return fmt.Sprintf("change %+v, want %+v", a, b)
		}
	case want.Dispute != nil, want.Decision != nil:
		return sameDueProcessFact(got, want)
	case want.Consent != nil:
		a, b := got.Consent, want.Consent
		if a == nil || a.Scheme != b.Scheme || a.Given != b.Given || !a.At.Equal(b.At) {
			return fmt.Sprintf("consent %+v, want %+v", a, b)
		}
	case want.Link != nil:
		a, b := got.Link, want.Link
		if a == nil || a.Org != b.Org || a.Person != b.Person || a.Role != b.Role || !a.From.Equal(b.From) || !a.Until.Equal(b.Until) {
			return fmt.Sprintf("link %+v, want %+v", a, b)
		}
	}
	return ""
}

// sameRecordFact compares what the engine reads of a record.
func sameRecordFact(a, b *credo.Record) string {
	if a == nil || a.ID != b.ID || a.Subject != b.Subject || a.Rule != b.Rule || a.Authority != b.Authority ||
		!a.DecidedAt.Equal(b.DecidedAt) || !a.NotifiedAt.Equal(b.NotifiedAt) || !a.FiledAt.Equal(b.FiledAt) || a.Quantity != b.Quantity {
		return fmt.Sprintf("record %+v, want %+v", a, b)
	}
	return ""
}

// sameDueProcessFact compares what the engine reads of a dispute opened
// or decided.
func sameDueProcessFact(got, want *credo.Event) string {
	if want.Dispute != nil {
		a, b := got.Dispute, want.Dispute
		if a == nil || a.ID != b.ID || a.RecordID != b.RecordID || !a.OpenedAt.Equal(b.OpenedAt) || a.Appeal != b.Appeal || a.NewInformation != b.NewInformation {
			return fmt.Sprintf("dispute %+v, want %+v", a, b)
		}
		return ""
	}
	a, b := got.Decision, want.Decision
	if a == nil || a.DisputeID != b.DisputeID || a.RecordID != b.RecordID || !a.At.Equal(b.At) || a.Outcome != b.Outcome {
		return fmt.Sprintf("decision %+v, want %+v", a, b)
	}
	return ""
}

// FileBackfillLog files, before a store's facts projection is dropped to
// test its backfill at open, the log CheckFactsBackfilled expects: 40
// records about 7 persons.
func FileBackfillLog(t *testing.T, s credo.Store) {
	t.Helper()
	var rs []*credo.Record
	for i := range 40 {
		rs = append(rs, NewRecord("court.beijing", i, i%7))
	}
	file(t, s, rs...)
}

// CheckFactsBackfilled checks that a store reopened on FileBackfillLog's
// log without its facts projection wrote the facts of every subject
// from the log, and that they pass both projection checks.
func CheckFactsBackfilled(t *testing.T, s interface {
	credo.FactsReader
	credo.ProjectionVerifier
}) {
	t.Helper()
	subjects := 0
	if err := s.ScanFacts(ctx, "", "", func(subject string, evs []credo.Event) error {
		subjects++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if subjects != 7 {
		t.Errorf("%d subjects with facts after the backfill, want 7", subjects)
	}
	for _, check := range []func(context.Context) (credo.ProjectionResult, error){s.VerifyProjections, s.CheckProjections} {
		if pr, err := check(ctx); err != nil || !pr.OK || pr.Tables["facts"] != 40 {
			t.Errorf("projections after the backfill: %+v, %v", pr, err)
		}
	}
}
