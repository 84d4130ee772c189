package registry

import (
	"reflect"
	"testing"
	"time"

	"credo"
	"credo/internal/storecore"
)

// TestPackedFactsRoundTrip holds what ScanFacts keeps of the linked
// subjects until every range is read (their facts packed as the
// projection stores them) equal to the facts the store's scan gave: every
// kind of fact, with and without its optional parts.
func TestPackedFactsRoundTrip(t *testing.T) {
	const subject, org = "110105198001010019", "914403001922038216"
	at := func(d int) time.Time { return time.Date(2025, 1, d, 8, 30, 0, 123456789, time.UTC) }
	evs := []credo.Event{
		{Type: credo.EventRecordFiled, Recorded: at(1), Record: &credo.Record{Subject: subject, Rule: "LATE_FEE", Authority: "utility", DecidedAt: at(1)}},
		{Type: credo.EventRecordFiled, Recorded: at(2), Record: &credo.Record{Subject: subject, Rule: "LATE_FEE", Authority: "utility", DecidedAt: at(1), NotifiedAt: at(2), Quantity: 2.5, FiledAt: at(3)}},
		{Type: credo.EventRecordRevoked, Recorded: at(4), Change: &credo.RecordChange{VoidAbInitio: true, RecordID: 1, At: at(4)}},
		{Type: credo.EventRecordFulfilled, Recorded: at(5), Change: &credo.RecordChange{RecordID: 2, At: at(5)}},
		{Type: credo.EventRepairApproved, Recorded: at(6), Change: &credo.RecordChange{RecordID: 2, At: at(6)}},
		{Type: credo.EventDisputeOpened, Recorded: at(7), Dispute: &credo.Dispute{Appeal: true, NewInformation: true, RecordID: 2, OpenedAt: at(7)}},
		{Type: credo.EventDisputeDecided, Recorded: at(8), Decision: &credo.DisputeDecision{DisputeID: 7, RecordID: 2, At: at(8), Outcome: "upheld"}},
		{Type: credo.EventConsentGiven, Recorded: at(9), Consent: &credo.Consent{Given: true, Scheme: "civic", At: at(9)}},
		{Type: credo.EventConsentWithdrawn, Recorded: at(10), Consent: &credo.Consent{Scheme: "civic", At: at(10)}},
		{Type: credo.EventLinkAdded, Recorded: at(11), Link: &credo.Link{Org: org, Person: subject, Role: "legal_representative", From: at(11)}},
		{Type: credo.EventLinkRemoved, Recorded: at(12), Link: &credo.Link{Org: org, Person: subject, Role: "legal_representative", From: at(11), Until: at(12)}},
	}
	// What the store's scan gives: the facts decoded from the projection.
	var scanned []credo.Event
	for i := range evs {
		seq := int64(1000*i + 1)
		body := storecore.AppendFact(nil, &evs[i])
		if body == nil {
			t.Fatalf("event %d has no fact", i)
		}
		ev, err := storecore.DecodeFact(subject, seq, body)
		if err != nil {
			t.Fatal(err)
		}
		scanned = append(scanned, ev)
	}
	pk := pack(subject, scanned)
	if pk.evs != nil || len(pk.b) == 0 {
		t.Fatal("the facts were not packed")
	}
	got, err := pk.events()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, scanned) {
		t.Fatalf("unpacked facts differ:\n got %+v\nwant %+v", got, scanned)
	}
	// A fact that does not pack is kept as it is.
	odd := append(append([]credo.Event(nil), scanned...), credo.Event{Type: credo.EventRecordFiled, Seq: 99})
	if got, err := pack(subject, odd).events(); err != nil || !reflect.DeepEqual(got, odd) {
		t.Fatalf("an event without its payload: got %+v, %v", got, err)
	}
	// Truncated packing is an error, never a shorter history.
	pk.b = pk.b[:len(pk.b)-1]
	if _, err := pk.events(); err == nil {
		t.Fatal("truncated packing decoded without error")
	}
}
