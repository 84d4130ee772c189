// Package storetest is the conformance suite every credo.Store must pass.
// A store package runs it against a fresh store per test:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) credo.Store {
//			db, err := sqlite.Open(filepath.Join(t.TempDir(), "credo.db"))
//			...
//			t.Cleanup(func() { db.Close() })
//			return db
//		})
//	}
//
// The suite checks the contract of credo.Store as the rest of Credo relies
// on it: events read back as written, idempotent and conflicting filings,
// log order, projections that agree with a replay of the log, policy
// versions, Verify, and concurrent writers. Run the store's tests with
// -race.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"credo"
)

// Run runs the conformance suite; open must return a new, empty store.
func Run(t *testing.T, open func(t *testing.T) credo.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s credo.Store)
	}{
		{"Empty", testEmpty},
		{"AppendReadBack", testAppendReadBack},
		{"IdempotentRefile", testIdempotentRefile},
		{"Conflict", testConflict},
		{"ConflictWithinBatch", testConflictWithinBatch},
		{"InvalidRecords", testInvalidRecords},
		{"AppendValidation", testAppendValidation},
		{"NotFound", testNotFound},
		{"Ordering", testOrdering},
		{"Projections", testProjections},
		{"RecordStatusEvents", testRecordStatusEvents},
		{"PolicyVersions", testPolicyVersions},
		{"Verify", testVerify},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentOutcomes", testConcurrentOutcomes},
		{"Tree", testTree},
		{"Facts", testFacts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			tt.fn(t, s)
			verifiesProjections(t, s)
		})
	}
}

var ctx = context.Background()

// t0 is the valid time the tests' events take effect from.
var t0 = time.Date(2025, 6, 1, 10, 0, 0, 0, cst)

// file files records and fails the test on error.
func file(t *testing.T, s credo.Store, rs ...*credo.Record) []credo.FileResult {
	t.Helper()
	res, err := s.FileRecords(ctx, rs)
	if err != nil {
		t.Fatalf("FileRecords: %v", err)
	}
	if got, want := len(res), len(rs); got != want {
		t.Fatalf("FileRecords returned %d results for %d records", got, want)
	}
	return res
}

// appendEvents appends events and fails the test on error.
func appendEvents(t *testing.T, s credo.Store, evs ...*credo.Event) []*credo.Event {
	t.Helper()
	out, err := s.Append(ctx, evs)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if got, want := len(out), len(evs); got != want {
		t.Fatalf("Append returned %d events for %d", got, want)
	}
	return out
}

// allEvents returns the whole log, paging through Events.
func allEvents(t *testing.T, s credo.Store) []credo.Event {
	t.Helper()
	var all []credo.Event
	var after int64
	for {
		evs, err := s.Events(ctx, after, 100)
		if err != nil {
			t.Fatalf("Events(%d, 100): %v", after, err)
		}
		if len(evs) > 100 {
			t.Fatalf("Events(%d, 100) returned %d events", after, len(evs))
		}
		if len(evs) == 0 {
			return all
		}
		all = append(all, evs...)
		after = evs[len(evs)-1].Seq
	}
}

// wantCode fails the test unless err has the given code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := credo.ErrorCode(err); got != code {
		t.Fatalf("got error %q (code %s), want code %s", err, got, code)
	}
}

// sameEvent reports how two events differ: their canonical encodings and
// hashes must be equal ("" if they are).
func sameEvent(a, b *credo.Event) string {
	ea, err := credo.CanonicalEncoding(a)
	if err != nil {
		return err.Error()
	}
	eb, err := credo.CanonicalEncoding(b)
	if err != nil {
		return err.Error()
	}
	if !bytes.Equal(ea, eb) {
		return fmt.Sprintf("\n  got  %s\n  want %s", ea, eb)
	}
	if a.Hash != b.Hash {
		return fmt.Sprintf("hash %s, want %s", a.Hash, b.Hash)
	}
	return ""
}

// sameRecord reports how a stored record differs from a filed one.
func sameRecord(got, want *credo.Record) string {
	switch {
	case got == nil:
		return "nil record"
	case !got.SameFiling(want):
		return fmt.Sprintf("content differs:\n  got  %+v\n  want %+v", *got, *want)
	case want.ID != 0 && got.ID != want.ID:
		return fmt.Sprintf("ID %d, want %d", got.ID, want.ID)
	case !want.FiledAt.IsZero() && !got.FiledAt.Equal(want.FiledAt):
		return fmt.Sprintf("FiledAt %v, want %v", got.FiledAt, want.FiledAt)
	}
	return ""
}

// EventsAreOpened is set by the tests of a store whose reads are opened
// views of sealed events (package seal): a read event's hash is that of
// its sealed form, which Verify checks, not of the event as read.
var EventsAreOpened bool

// checkChain checks that events are contiguous from first and hash-chained.
func checkChain(t *testing.T, evs []credo.Event, first int64, prevHash string) {
	t.Helper()
	for i := range evs {
		ev := &evs[i]
		if got, want := ev.Seq, first+int64(i); got != want {
			t.Fatalf("event %d has seq %d, want %d", i, got, want)
		}
		if ev.PrevHash != prevHash {
			t.Fatalf("event %d: prev_hash %q, want %q", ev.Seq, ev.PrevHash, prevHash)
		}
		h, err := credo.HashEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Hash != h && !EventsAreOpened {
			t.Fatalf("event %d: hash %s, want %s (the hash of its canonical encoding)", ev.Seq, ev.Hash, h)
		}
		prevHash = ev.Hash
	}
}

func head(t *testing.T, s credo.Store) (int64, string) {
	t.Helper()
	seq, hash, err := s.Head(ctx)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return seq, hash
}

func testEmpty(t *testing.T, s credo.Store) {
	if seq, hash := head(t, s); seq != 0 || hash != "" {
		t.Errorf("Head of an empty store = %d, %q; want 0, \"\"", seq, hash)
	}
	if evs := allEvents(t, s); len(evs) != 0 {
		t.Errorf("Events of an empty store: %d events", len(evs))
	}
	res, err := s.Verify(ctx)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !res.OK || res.Count != 0 || res.HeadSeq != 0 {
		t.Errorf("Verify of an empty store = %+v", res)
	}
	ps, err := s.Policies(ctx)
	if err != nil || len(ps) != 0 {
		t.Errorf("Policies of an empty store = %v, %v", ps, err)
	}
	n := 0
	if err := s.Subjects(ctx, func(string) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("Subjects of an empty store: %d, %v", n, err)
	}
}

// mixedLog files records and appends one event of every other type; it
// returns what the store returned, in log order.
func mixedLog(t *testing.T, s credo.Store) (recs []*credo.Record, evs []*credo.Event) {
	t.Helper()
	person, other, org := RIC(1), RIC(2), USCC(1)
	r1 := NewRecord("court.beijing", 1, 1)
	r1.NotifiedAt = r1.DecidedAt.Add(48 * time.Hour)
	r1.SubjectName = "张三 <Zhang San> & \"Co\""
	r2 := NewRecord("court.beijing", 2, 2)
	r2.Rule = "VOLUNTEER_SERVICE"
	r2.Quantity = 12.5
	r2.EvidenceURI = ""
	r3 := NewRecord("samr.beijing", 3, 0)
	r3.Subject = org
	r3.Rule = "LICENCE_REVOKED"
	r3.DecidedAt = time.Date(2024, 12, 31, 23, 59, 59, 999999999, time.UTC)
	res := file(t, s, r1, r2, r3)
	for _, fr := range res {
		if !fr.Created {
			t.Fatalf("new record %s not created", fr.Record.CaseRef)
		}
		recs = append(recs, fr.Record)
	}
	pol := []byte("name: Example municipal policy\nrules: []\n")
	evs = appendEvents(t, s,
		&credo.Event{Type: credo.EventDisputeOpened, Subject: person, Actor: "subject",
			Dispute: &credo.Dispute{RecordID: recs[0].ID, OpenedAt: t0, Grounds: "I paid", EvidenceSHA256: credo.HashBytes([]byte("receipt"))}},
		&credo.Event{Type: credo.EventConsentGiven, Subject: other, Actor: "subject",
			Consent: &credo.Consent{Scheme: "civic", At: t0, Given: true}},
		&credo.Event{Type: credo.EventLinkAdded, Subject: org, Actor: "samr.beijing",
			Link: &credo.Link{Org: org, Person: person, Role: credo.RoleLegalRepresentative, From: t0.AddDate(-2, 0, 0)}},
		&credo.Event{Type: credo.EventPolicyPublished, Actor: "admin",
			Policy: &credo.PolicyVersion{Name: "Example", Effective: t0, Published: t0.Add(-time.Hour), Source: pol}},
		&credo.Event{Type: credo.EventRecordFulfilled, Subject: other, Actor: "court.beijing",
			Change: &credo.RecordChange{RecordID: recs[1].ID, At: t0.Add(time.Hour), Reason: "performed"}},
	)
	decided := appendEvents(t, s,
		&credo.Event{Type: credo.EventDisputeDecided, Subject: person, Actor: "court.beijing",
			Decision: &credo.DisputeDecision{DisputeID: evs[0].Dispute.ID, RecordID: recs[0].ID, At: t0.Add(72 * time.Hour), Outcome: credo.OutcomeUpheld}},
		&credo.Event{Type: credo.EventRecordRevoked, Subject: org, Actor: "samr.beijing", Recorded: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC),
			Change: &credo.RecordChange{RecordID: recs[2].ID, At: t0, Reason: "annulled on review", VoidAbInitio: true}},
		&credo.Event{Type: credo.EventLinkRemoved, Subject: org, Actor: "samr.beijing",
			Link: &credo.Link{Org: org, Person: person, Role: credo.RoleLegalRepresentative, From: t0.AddDate(-2, 0, 0), Until: t0.AddDate(0, 1, 0)}},
		&credo.Event{Type: credo.EventRepairApproved, Subject: person, Actor: "court.beijing",
			Change: &credo.RecordChange{RecordID: recs[0].ID, At: t0.AddDate(1, 0, 0)}},
	)
	return recs, append(evs, decided...)
}

func testAppendReadBack(t *testing.T, s credo.Store) {
	recs, evs := mixedLog(t, s)
	for i, r := range recs {
		if r.ID != int64(i+1) {
			t.Errorf("record %d has ID %d, want %d (the seq of its event)", i, r.ID, i+1)
		}
		if r.FiledAt.IsZero() {
			t.Errorf("record %d has no FiledAt", r.ID)
		}
	}
	if r := recs[2]; !r.DecidedAt.Equal(time.Date(2024, 12, 31, 23, 59, 59, 999999999, time.UTC)) {
		t.Errorf("decided_at lost precision: %v", r.DecidedAt)
	}
	for i, ev := range evs {
		if got, want := ev.Seq, int64(len(recs)+i+1); got != want {
			t.Errorf("appended event %d (%s) has seq %d, want %d", i, ev.Type, got, want)
		}
		if ev.Recorded.IsZero() {
			t.Errorf("event %d has no Recorded", ev.Seq)
		}
	}
	if d := evs[0].Dispute; d.ID != evs[0].Seq {
		t.Errorf("dispute ID = %d, want the seq of its event, %d", d.ID, evs[0].Seq)
	}
	if got, want := evs[6].Recorded, time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("a given Recorded was replaced: %v, want %v", got, want)
	}
	log := allEvents(t, s)
	if got, want := len(log), len(recs)+len(evs); got != want {
		t.Fatalf("log has %d events, want %d", got, want)
	}
	checkChain(t, log, 1, "")
	for i, r := range recs {
		ev := &log[i]
		if ev.Type != credo.EventRecordFiled || ev.Subject != r.Subject || ev.Actor != r.Authority || ev.Record == nil {
			t.Fatalf("event %d = %s subject %q actor %q, want the filing of record %d", ev.Seq, ev.Type, ev.Subject, ev.Actor, r.ID)
		}
		if !ev.Recorded.Equal(r.FiledAt) {
			t.Errorf("event %d recorded %v, want the record's FiledAt %v", ev.Seq, ev.Recorded, r.FiledAt)
		}
		if d := sameRecord(ev.Record, r); d != "" {
			t.Errorf("event %d: record %s", ev.Seq, d)
		}
	}
	for i, want := range evs {
		if d := sameEvent(&log[len(recs)+i], want); d != "" {
			t.Errorf("event %d (%s) read back differs from what Append returned: %s", want.Seq, want.Type, d)
		}
	}
	seq, hash := head(t, s)
	if last := log[len(log)-1]; seq != last.Seq || hash != last.Hash {
		t.Errorf("Head = %d %s, want %d %s", seq, hash, last.Seq, last.Hash)
	}
	// Events after the head, and a window in the middle.
	if evs, err := s.Events(ctx, seq, 10); err != nil || len(evs) != 0 {
		t.Errorf("Events after the head = %d events, %v", len(evs), err)
	}
	mid, err := s.Events(ctx, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(mid) != 3 || mid[0].Seq != 3 || mid[2].Seq != 5 {
		t.Errorf("Events(2, 3) = %d events starting at %d, want 3..5", len(mid), mid[0].Seq)
	}
}

func testIdempotentRefile(t *testing.T, s credo.Store) {
	r := NewRecord("court.beijing", 1, 1)
	first := file(t, s, r)[0]
	if !first.Created || first.Record.ID == 0 {
		t.Fatalf("first filing: %+v", first)
	}
	if r.ID != 0 || !r.FiledAt.IsZero() {
		t.Errorf("FileRecords modified its input: ID %d FiledAt %v", r.ID, r.FiledAt)
	}
	seq, hash := head(t, s)
	again := *r
	res := file(t, s, &again)[0]
	if res.Created {
		t.Errorf("re-filing an identical record created it again")
	}
	if d := sameRecord(res.Record, first.Record); d != "" {
		t.Errorf("re-filing returned a record that is not the original: %s", d)
	}
	if s2, h2 := head(t, s); s2 != seq || h2 != hash {
		t.Errorf("re-filing appended an event: head %d -> %d", seq, s2)
	}
	// Within one batch: a new record twice, and an old one.
	n1, n2 := NewRecord("court.beijing", 2, 2), NewRecord("court.beijing", 3, 3)
	dup := *n1
	batch := file(t, s, n1, r, &dup, n2)
	if !batch[0].Created || batch[1].Created || batch[2].Created || !batch[3].Created {
		t.Errorf("created = %v %v %v %v, want true false false true", batch[0].Created, batch[1].Created, batch[2].Created, batch[3].Created)
	}
	if batch[2].Record.ID != batch[0].Record.ID || batch[1].Record.ID != first.Record.ID {
		t.Errorf("duplicates got IDs %d and %d, want %d and %d", batch[2].Record.ID, batch[1].Record.ID, batch[0].Record.ID, first.Record.ID)
	}
	if batch[3].Record.ID != batch[0].Record.ID+1 {
		t.Errorf("IDs %d then %d: duplicates must not use up sequence numbers", batch[0].Record.ID, batch[3].Record.ID)
	}
	if evs := allEvents(t, s); len(evs) != 3 {
		t.Errorf("log has %d events, want 3", len(evs))
	}
	// FiledAt given by the caller (a historical import) is kept, and
	// re-filing ignores it.
	h := NewRecord("court.beijing", 4, 4)
	h.FiledAt = time.Date(2020, 2, 2, 2, 2, 2, 0, time.UTC)
	got := file(t, s, h)[0]
	if !got.Record.FiledAt.Equal(h.FiledAt) {
		t.Errorf("FiledAt = %v, want the given %v", got.Record.FiledAt, h.FiledAt)
	}
	h2 := *h
	h2.FiledAt = time.Time{}
	if again := file(t, s, &h2)[0]; again.Created || again.Record.ID != got.Record.ID {
		t.Errorf("re-filing without FiledAt: %+v", again)
	}
}

func testConflict(t *testing.T, s credo.Store) {
	orig := file(t, s, NewRecord("court.beijing", 1, 1))[0].Record
	seq, hash := head(t, s)
	changed := NewRecord("court.beijing", 1, 1)
	changed.EvidenceSHA256 = credo.HashBytes([]byte("other evidence"))
	fresh := NewRecord("court.beijing", 2, 2)
	_, err := s.FileRecords(ctx, []*credo.Record{fresh, changed})
	wantCode(t, err, credo.ECONFLICT)
	msg := credo.ErrorMessage(err)
	for _, want := range []string{"court.beijing", changed.CaseRef, fmt.Sprint(orig.ID), "evidence_sha256"} {
		if !strings.Contains(msg, want) {
			t.Errorf("conflict message %q does not name %q", msg, want)
		}
	}
	if s2, h2 := head(t, s); s2 != seq || h2 != hash {
		t.Errorf("a failed batch moved the head from %d to %d", seq, s2)
	}
	_, err = s.RecordByCase(ctx, fresh.Authority, fresh.CaseRef)
	wantCode(t, err, credo.ENOTFOUND)
	if evs := allEvents(t, s); len(evs) != 1 {
		t.Errorf("log has %d events after a failed batch, want 1", len(evs))
	}
	// Each field counts.
	for _, c := range []struct {
		field  string
		change func(r *credo.Record)
	}{
		{"subject", func(r *credo.Record) { r.Subject = RIC(99) }},
		{"rule", func(r *credo.Record) { r.Rule = "OTHER" }},
		{"decided_at", func(r *credo.Record) { r.DecidedAt = r.DecidedAt.Add(time.Second) }},
		{"notified_at", func(r *credo.Record) { r.NotifiedAt = r.DecidedAt }},
		{"quantity", func(r *credo.Record) { r.Quantity = 1 }},
		{"evidence_uri", func(r *credo.Record) { r.EvidenceURI = "" }},
		{"subject_name", func(r *credo.Record) { r.SubjectName = "x" }},
	} {
		r := NewRecord("court.beijing", 1, 1)
		c.change(r)
		_, err := s.FileRecords(ctx, []*credo.Record{r})
		wantCode(t, err, credo.ECONFLICT)
		if msg := credo.ErrorMessage(err); !strings.Contains(msg, c.field) {
			t.Errorf("conflict in %s: message %q does not name the field", c.field, msg)
		}
	}
	// The same instant in another zone is the same filing.
	r := NewRecord("court.beijing", 1, 1)
	r.DecidedAt = r.DecidedAt.UTC()
	if res := file(t, s, r)[0]; res.Created || res.Record.ID != orig.ID {
		t.Errorf("same decision time in UTC: %+v", res)
	}
}

func testConflictWithinBatch(t *testing.T, s credo.Store) {
	a := NewRecord("court.beijing", 1, 1)
	b := NewRecord("court.beijing", 1, 1)
	b.Rule = "OTHER"
	_, err := s.FileRecords(ctx, []*credo.Record{NewRecord("court.beijing", 0, 0), a, NewRecord("court.beijing", 2, 2), b})
	wantCode(t, err, credo.ECONFLICT)
	if !strings.Contains(credo.ErrorMessage(err), "rule") {
		t.Errorf("message %q does not name the field", credo.ErrorMessage(err))
	}
	if seq, _ := head(t, s); seq != 0 {
		t.Errorf("a failed batch wrote %d events", seq)
	}
	for _, n := range []int{0, 1, 2} {
		r := NewRecord("court.beijing", n, n)
		_, err := s.RecordByCase(ctx, r.Authority, r.CaseRef)
		wantCode(t, err, credo.ENOTFOUND)
	}
}

func testInvalidRecords(t *testing.T, s credo.Store) {
	for name, change := range map[string]func(r *credo.Record){
		"no authority": func(r *credo.Record) { r.Authority = "" },
		"no case":      func(r *credo.Record) { r.CaseRef = "" },
		"no subject":   func(r *credo.Record) { r.Subject = "" },
	} {
		r := NewRecord("court.beijing", 1, 1)
		change(r)
		_, err := s.FileRecords(ctx, []*credo.Record{NewRecord("court.beijing", 2, 2), r})
		if credo.ErrorCode(err) != credo.EINVALID {
			t.Errorf("%s: error %v, want code %s", name, err, credo.EINVALID)
		}
	}
	_, err := s.FileRecords(ctx, []*credo.Record{nil})
	wantCode(t, err, credo.EINVALID)
	if seq, _ := head(t, s); seq != 0 {
		t.Errorf("invalid batches wrote %d events", seq)
	}
	res, err := s.FileRecords(ctx, nil)
	if err != nil || len(res) != 0 {
		t.Errorf("FileRecords(nil) = %v, %v", res, err)
	}
}

func testAppendValidation(t *testing.T, s credo.Store) {
	rec := file(t, s, NewRecord("court.beijing", 1, 1))[0].Record
	seq, _ := head(t, s)
	bad := map[string]*credo.Event{
		"record.filed":      {Type: credo.EventRecordFiled, Subject: rec.Subject, Record: rec},
		"unknown type":      {Type: "record.deleted", Subject: rec.Subject, Change: &credo.RecordChange{RecordID: rec.ID}},
		"missing payload":   {Type: credo.EventRecordRevoked, Subject: rec.Subject},
		"wrong payload":     {Type: credo.EventRecordRevoked, Subject: rec.Subject, Consent: &credo.Consent{Scheme: "civic"}},
		"two payloads":      {Type: credo.EventRecordRevoked, Subject: rec.Subject, Change: &credo.RecordChange{RecordID: rec.ID}, Consent: &credo.Consent{Scheme: "civic"}},
		"consent, subject":  {Type: credo.EventConsentGiven, Consent: &credo.Consent{Scheme: "civic", Given: true}},
		"link without org":  {Type: credo.EventLinkAdded, Link: &credo.Link{Person: RIC(1)}},
		"policy bad hash":   {Type: credo.EventPolicyPublished, Policy: &credo.PolicyVersion{Hash: "00", Source: []byte("x")}},
		"other subject":     {Type: credo.EventRecordRevoked, Subject: RIC(2), Change: &credo.RecordChange{RecordID: rec.ID, At: t0}},
		"decision, no such": {Type: credo.EventDisputeDecided, Subject: rec.Subject, Decision: &credo.DisputeDecision{DisputeID: 999, Outcome: credo.OutcomeUpheld}},
	}
	for name, ev := range bad {
		// Each bad event comes after a good one: the batch fails as a whole.
		good := &credo.Event{Type: credo.EventConsentGiven, Subject: rec.Subject, Consent: &credo.Consent{Scheme: "civic", At: t0, Given: true}}
		_, err := s.Append(ctx, []*credo.Event{good, ev})
		if c := credo.ErrorCode(err); c != credo.EINVALID && c != credo.ENOTFOUND {
			t.Errorf("%s: error %v (code %q), want invalid or not found", name, err, c)
		}
	}
	if s2, _ := head(t, s); s2 != seq {
		t.Errorf("failed appends wrote %d events", s2-seq)
	}
	// Decided twice.
	op := appendEvents(t, s, &credo.Event{Type: credo.EventDisputeOpened, Subject: rec.Subject,
		Dispute: &credo.Dispute{RecordID: rec.ID, OpenedAt: t0, Grounds: "no"}})[0]
	dec := func() *credo.Event {
		return &credo.Event{Type: credo.EventDisputeDecided, Subject: rec.Subject,
			Decision: &credo.DisputeDecision{DisputeID: op.Dispute.ID, At: t0, Outcome: credo.OutcomeUpheld}}
	}
	d := appendEvents(t, s, dec())[0]
	if d.Decision.RecordID != rec.ID {
		t.Errorf("decision record id = %d, want %d (filled in from the dispute)", d.Decision.RecordID, rec.ID)
	}
	_, err := s.Append(ctx, []*credo.Event{dec()})
	wantCode(t, err, credo.ECONFLICT)
	// Subjects are filled in from the record and the organisation.
	ch := appendEvents(t, s, &credo.Event{Type: credo.EventRecordFulfilled, Change: &credo.RecordChange{RecordID: rec.ID, At: t0}})[0]
	if ch.Subject != rec.Subject {
		t.Errorf("change subject = %q, want the record's %q", ch.Subject, rec.Subject)
	}
	l := appendEvents(t, s, &credo.Event{Type: credo.EventLinkAdded, Link: &credo.Link{Org: USCC(1), Person: RIC(1), Role: credo.RolePrincipal, From: t0}})[0]
	if l.Subject != USCC(1) {
		t.Errorf("link subject = %q, want the organisation %q", l.Subject, USCC(1))
	}
	if evs, err := s.Append(ctx, nil); err != nil || len(evs) != 0 {
		t.Errorf("Append(nil) = %v, %v", evs, err)
	}
}

func testNotFound(t *testing.T, s credo.Store) {
	_, err := s.Record(ctx, 1)
	wantCode(t, err, credo.ENOTFOUND)
	_, err = s.RecordByCase(ctx, "court.beijing", "nope")
	wantCode(t, err, credo.ENOTFOUND)
	for _, ev := range []*credo.Event{
		{Type: credo.EventRecordRevoked, Subject: RIC(1), Change: &credo.RecordChange{RecordID: 42, At: t0}},
		{Type: credo.EventRecordFulfilled, Subject: RIC(1), Change: &credo.RecordChange{RecordID: 42, At: t0}},
		{Type: credo.EventRepairApproved, Subject: RIC(1), Change: &credo.RecordChange{RecordID: 42, At: t0}},
		{Type: credo.EventDisputeOpened, Subject: RIC(1), Dispute: &credo.Dispute{RecordID: 42, OpenedAt: t0}},
	} {
		_, err := s.Append(ctx, []*credo.Event{ev})
		wantCode(t, err, credo.ENOTFOUND)
	}
	rec := file(t, s, NewRecord("court.beijing", 1, 1))[0].Record
	// The event filing a record is not a record.
	op := appendEvents(t, s, &credo.Event{Type: credo.EventDisputeOpened, Subject: rec.Subject,
		Dispute: &credo.Dispute{RecordID: rec.ID, OpenedAt: t0}})[0]
	_, err = s.Record(ctx, op.Seq)
	wantCode(t, err, credo.ENOTFOUND)
	if evs, err := s.SubjectEvents(ctx, RIC(77)); err != nil || len(evs) != 0 {
		t.Errorf("SubjectEvents of an unknown subject = %d events, %v", len(evs), err)
	}
	if orgs, err := s.LinkedOrgs(ctx, RIC(77)); err != nil || len(orgs) != 0 {
		t.Errorf("LinkedOrgs of an unlinked person = %v, %v", orgs, err)
	}
}

func testOrdering(t *testing.T, s credo.Store) {
	org, person := USCC(7), RIC(7)
	// Interleave filings about several subjects with links and changes.
	var filed []*credo.Record
	for round := range 5 {
		var batch []*credo.Record
		for i := range 4 {
			batch = append(batch, NewRecord("court.beijing", round*10+i, 5+i))
		}
		batch[round%4].Subject = person
		for _, r := range file(t, s, batch...) {
			filed = append(filed, r.Record)
		}
		appendEvents(t, s,
			&credo.Event{Type: credo.EventLinkAdded, Subject: org,
				Link: &credo.Link{Org: org, Person: person, Role: credo.RolePrincipal, From: t0.AddDate(0, round, 0)}},
			&credo.Event{Type: credo.EventConsentGiven, Subject: person, Consent: &credo.Consent{Scheme: "civic", At: t0, Given: round%2 == 0}},
		)
	}
	log := allEvents(t, s)
	if len(log) != 30 {
		t.Fatalf("log has %d events, want 30", len(log))
	}
	checkChain(t, log, 1, "")
	// Every filed record stands in the log at its own sequence number.
	for _, r := range filed {
		if ev := log[r.ID-1]; ev.Type != credo.EventRecordFiled || ev.Record == nil || ev.Record.CaseRef != r.CaseRef || ev.Subject != r.Subject {
			t.Errorf("record %d (case %s) is not the event at seq %d: %+v", r.ID, r.CaseRef, r.ID, ev)
		}
	}
	// Events with any window size agrees with the whole log.
	for _, limit := range []int{1, 7, 30, 100} {
		var got []credo.Event
		var after int64
		for {
			evs, err := s.Events(ctx, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			got = append(got, evs...)
			after = evs[len(evs)-1].Seq
		}
		if len(got) != len(log) {
			t.Errorf("paging by %d read %d events, want %d", limit, len(got), len(log))
		}
	}
	concerns := func(ev *credo.Event, subject string) bool {
		return ev.Subject == subject || ev.Link != nil && (ev.Link.Person == subject || ev.Link.Org == subject)
	}
	for _, subject := range []string{person, org, RIC(5), RIC(8)} {
		var want []int64
		for i := range log {
			if concerns(&log[i], subject) {
				want = append(want, log[i].Seq)
			}
		}
		evs, err := s.SubjectEvents(ctx, subject)
		if err != nil {
			t.Fatalf("SubjectEvents(%s): %v", subject, err)
		}
		var got []int64
		for i := range evs {
			got = append(got, evs[i].Seq)
			if d := sameEvent(&evs[i], &log[evs[i].Seq-1]); d != "" {
				t.Errorf("SubjectEvents(%s): event %d differs from the log: %s", subject, evs[i].Seq, d)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("SubjectEvents(%s) = seqs %v, want %v", subject, got, want)
		}
	}
	// The person's events include the links that name them.
	evs, _ := s.SubjectEvents(ctx, person)
	links := 0
	for _, ev := range evs {
		if ev.Type == credo.EventLinkAdded {
			links++
		}
	}
	if links != 5 {
		t.Errorf("SubjectEvents(person) has %d link events, want 5", links)
	}
}

// replay is what the log says, computed in memory.
type replay struct {
	records  map[[2]string]*credo.Record
	byID     map[int64]*credo.Record
	orgs     map[string]map[string]bool // person -> orgs
	persons  map[string]map[string]bool // org -> persons
	subjects map[string][]int64
	policies []credo.PolicyVersion
}

func replayLog(log []credo.Event) *replay {
	r := &replay{
		records: map[[2]string]*credo.Record{}, byID: map[int64]*credo.Record{},
		orgs: map[string]map[string]bool{}, persons: map[string]map[string]bool{},
		subjects: map[string][]int64{},
	}
	add := func(m map[string]map[string]bool, k, v string) {
		if m[k] == nil {
			m[k] = map[string]bool{}
		}
		m[k][v] = true
	}
	for i := range log {
		ev := &log[i]
		seen := map[string]bool{}
		if ev.Subject != "" {
			seen[ev.Subject] = true
		}
		switch ev.Type {
		case credo.EventRecordFiled:
			r.records[[2]string{ev.Record.Authority, ev.Record.CaseRef}] = ev.Record
			r.byID[ev.Record.ID] = ev.Record
		case credo.EventLinkAdded:
			add(r.orgs, ev.Link.Person, ev.Link.Org)
			add(r.persons, ev.Link.Org, ev.Link.Person)
		case credo.EventPolicyPublished:
			r.policies = append(r.policies, *ev.Policy)
		}
		if ev.Link != nil {
			seen[ev.Link.Person] = true
		}
		for s := range seen {
			r.subjects[s] = append(r.subjects[s], ev.Seq)
		}
	}
	return r
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func testProjections(t *testing.T, s credo.Store) {
	mixedLog(t, s)
	// More links: one person at two organisations, two persons at one.
	appendEvents(t, s,
		&credo.Event{Type: credo.EventLinkAdded, Subject: USCC(2), Link: &credo.Link{Org: USCC(2), Person: RIC(1), Role: credo.RoleActualController, From: t0}},
		&credo.Event{Type: credo.EventLinkAdded, Subject: USCC(2), Link: &credo.Link{Org: USCC(2), Person: RIC(3), Role: credo.RolePrincipal, From: t0}},
	)
	var batch []*credo.Record
	for i := 10; i < 60; i++ {
		batch = append(batch, NewRecord("tax.beijing", i, i%7))
	}
	file(t, s, batch...)
	checkProjections(t, s)
}

// checkProjections checks every query of the store against a replay of
// its log.
func checkProjections(t *testing.T, s credo.Store) {
	t.Helper()
	log := allEvents(t, s)
	want := replayLog(log)
	for k, rec := range want.records {
		got, err := s.RecordByCase(ctx, k[0], k[1])
		if err != nil {
			t.Fatalf("RecordByCase(%s, %s): %v", k[0], k[1], err)
		}
		if d := sameRecord(got, rec); d != "" {
			t.Errorf("RecordByCase(%s, %s): %s", k[0], k[1], d)
		}
		got, err = s.Record(ctx, rec.ID)
		if err != nil {
			t.Fatalf("Record(%d): %v", rec.ID, err)
		}
		if d := sameRecord(got, rec); d != "" {
			t.Errorf("Record(%d): %s", rec.ID, d)
		}
	}
	for person, orgs := range want.orgs {
		got, err := s.LinkedOrgs(ctx, person)
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(got)
		if w := keys(orgs); !slices.Equal(got, w) {
			t.Errorf("LinkedOrgs(%s) = %v, want %v", person, got, w)
		}
	}
	for org, persons := range want.persons {
		got, err := s.LinkedPersons(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(got)
		if w := keys(persons); !slices.Equal(got, w) {
			t.Errorf("LinkedPersons(%s) = %v, want %v", org, got, w)
		}
	}
	subjects := map[string]bool{}
	if err := s.Subjects(ctx, func(subject string) error {
		if subjects[subject] {
			t.Errorf("Subjects called fn twice for %s", subject)
		}
		subjects[subject] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for subject, seqs := range want.subjects {
		if !subjects[subject] {
			t.Errorf("Subjects did not report %s", subject)
		}
		evs, err := s.SubjectEvents(ctx, subject)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, ev := range evs {
			got = append(got, ev.Seq)
		}
		// A store may also index a link under its organisation when the
		// event's subject is someone else; the replay only requires these.
		for _, seq := range seqs {
			if !slices.Contains(got, seq) {
				t.Errorf("SubjectEvents(%s) = %v, missing %d", subject, got, seq)
			}
		}
		if !slices.IsSorted(got) {
			t.Errorf("SubjectEvents(%s) out of order: %v", subject, got)
		}
	}
	ps, err := s.Policies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != len(want.policies) {
		t.Fatalf("Policies: %d versions, want %d", len(ps), len(want.policies))
	}
	for i := range ps {
		if ps[i].Hash != want.policies[i].Hash || !bytes.Equal(ps[i].Source, want.policies[i].Source) {
			t.Errorf("Policies[%d] = %s, want %s", i, ps[i].Hash, want.policies[i].Hash)
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := s.Subjects(ctx, func(string) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("Subjects did not stop at fn's error: %v after %d calls", err, n)
	}
}

func testRecordStatusEvents(t *testing.T, s credo.Store) {
	// Changes are events about the record; the record itself never changes.
	recs, _ := mixedLog(t, s)
	for _, r := range recs {
		got, err := s.Record(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := sameRecord(got, r); d != "" {
			t.Errorf("record %d changed after change events: %s", r.ID, d)
		}
	}
	evs, err := s.SubjectEvents(ctx, recs[0].Subject)
	if err != nil {
		t.Fatal(err)
	}
	var types []credo.EventType
	for _, ev := range evs {
		types = append(types, ev.Type)
	}
	want := []credo.EventType{credo.EventRecordFiled, credo.EventDisputeOpened, credo.EventLinkAdded,
		credo.EventDisputeDecided, credo.EventLinkRemoved, credo.EventRepairApproved}
	if !slices.Equal(types, want) {
		t.Errorf("SubjectEvents(person) types = %v, want %v", types, want)
	}
}

func testPolicyVersions(t *testing.T, s credo.Store) {
	publish := func(name, src string, effective time.Time) *credo.Event {
		return &credo.Event{Type: credo.EventPolicyPublished, Actor: "admin",
			Policy: &credo.PolicyVersion{Name: name, Effective: effective, Source: []byte(src)}}
	}
	v1 := appendEvents(t, s, publish("v1", "version: 1\n", t0))[0]
	if want := credo.HashBytes([]byte("version: 1\n")); v1.Policy.Hash != want {
		t.Errorf("policy hash = %s, want the SHA-256 of its source %s", v1.Policy.Hash, want)
	}
	if v1.Policy.Published.IsZero() {
		t.Errorf("policy published time not set")
	}
	v2 := appendEvents(t, s, publish("v2", "version: 2\n", t0.AddDate(0, 6, 0)))[0]
	seq, hash := head(t, s)
	// Re-publishing the same source is a no-op, even under another name.
	again := appendEvents(t, s, publish("v1 again", "version: 1\n", t0.AddDate(1, 0, 0)))[0]
	if d := sameEvent(again, v1); d != "" {
		t.Errorf("re-publishing returned another event: %s", d)
	}
	if s2, h2 := head(t, s); s2 != seq || h2 != hash {
		t.Errorf("re-publishing appended an event")
	}
	// Twice in one batch, with a new one.
	out := appendEvents(t, s, publish("v3", "version: 3\n", t0.AddDate(2, 0, 0)), publish("v3", "version: 3\n", t0.AddDate(2, 0, 0)), publish("v2", "version: 2\n", t0))
	if out[0].Seq != seq+1 || out[1].Seq != out[0].Seq || out[2].Seq != v2.Seq {
		t.Errorf("batch seqs = %d %d %d, want %d %d %d", out[0].Seq, out[1].Seq, out[2].Seq, seq+1, seq+1, v2.Seq)
	}
	ps, err := s.Policies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	if want := []string{"v1", "v2", "v3"}; !slices.Equal(names, want) {
		t.Fatalf("Policies = %v, want %v (oldest first, never overwritten)", names, want)
	}
	if !ps[0].Effective.Equal(t0) || string(ps[0].Source) != "version: 1\n" || ps[0].Hash != v1.Policy.Hash {
		t.Errorf("Policies[0] = %+v, want v1 as published", ps[0])
	}
	if evs := allEvents(t, s); len(evs) != 3 {
		t.Errorf("log has %d events, want 3 publications", len(evs))
	}
}

func testVerify(t *testing.T, s credo.Store) {
	mixedLog(t, s)
	var batch []*credo.Record
	for i := 100; i < 300; i++ {
		batch = append(batch, NewRecord("court.shanghai", i, i))
	}
	file(t, s, batch...)
	res, err := s.Verify(ctx)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	seq, hash := head(t, s)
	if !res.OK || res.FirstBad != 0 || res.Problem != "" {
		t.Errorf("Verify = %+v, want OK", res)
	}
	if res.Count != seq || res.HeadSeq != seq || res.HeadHash != hash {
		t.Errorf("Verify = count %d head %d %s, want %d %d %s", res.Count, res.HeadSeq, res.HeadHash, seq, seq, hash)
	}
}

func testConcurrentWriters(t *testing.T, s credo.Store) {
	const writers, perWriter = 8, 200
	// Records filed before: each writer will try to file a conflicting
	// version of one of them, which must fail alone.
	var pre []*credo.Record
	for g := range writers {
		pre = append(pre, NewRecord("court.pre", g, g))
	}
	file(t, s, pre...)

	type outcome struct {
		key     [2]string
		id      int64
		created bool
	}
	var mu sync.Mutex
	var outcomes []outcome
	var wg sync.WaitGroup
	errs := make(chan error, writers*4)
	for g := range writers {
		wg.Go(func() {
			note := func(res []credo.FileResult) {
				mu.Lock()
				defer mu.Unlock()
				for _, r := range res {
					outcomes = append(outcomes, outcome{[2]string{r.Record.Authority, r.Record.CaseRef}, r.Record.ID, r.Created})
				}
			}
			for i := range perWriter {
				n := g*perWriter + i
				recs := []*credo.Record{NewRecord("court.concurrent", n, n)}
				if i%10 == 0 {
					// A duplicate of another writer's record, filed in the
					// same call: whoever files first creates it.
					m := ((g+1)%writers)*perWriter + i
					recs = append(recs, NewRecord("court.concurrent", m, m))
				}
				res, err := s.FileRecords(ctx, recs)
				if err != nil {
					errs <- fmt.Errorf("writer %d, record %d: %w", g, n, err)
					return
				}
				note(res)
				if i == perWriter/2 {
					bad := NewRecord("court.pre", g, g)
					bad.Rule = "CONFLICTING"
					if _, err := s.FileRecords(ctx, []*credo.Record{bad}); credo.ErrorCode(err) != credo.ECONFLICT {
						errs <- fmt.Errorf("writer %d: conflicting filing: %v, want a conflict", g, err)
					}
					if _, err := s.Append(ctx, []*credo.Event{{Type: credo.EventConsentGiven, Subject: RIC(n),
						Consent: &credo.Consent{Scheme: "civic", At: t0, Given: true}}}); err != nil {
						errs <- fmt.Errorf("writer %d: append: %w", g, err)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	ids := map[[2]string]int64{}
	created := map[[2]string]int{}
	for _, o := range outcomes {
		if id, ok := ids[o.key]; ok && id != o.id {
			t.Errorf("record %v returned with IDs %d and %d", o.key, id, o.id)
		}
		ids[o.key] = o.id
		if o.created {
			created[o.key]++
		}
	}
	if len(ids) != writers*perWriter {
		t.Errorf("%d distinct records, want %d", len(ids), writers*perWriter)
	}
	for k := range ids {
		if created[k] != 1 {
			t.Errorf("record %v created %d times", k, created[k])
		}
	}
	log := allEvents(t, s)
	if got, want := len(log), writers+writers*perWriter+writers; got != want {
		t.Errorf("log has %d events, want %d", got, want)
	}
	checkChain(t, log, 1, "")
	for _, r := range pre {
		got, err := s.RecordByCase(ctx, r.Authority, r.CaseRef)
		if err != nil || got.Rule != r.Rule {
			t.Errorf("pre-filed record %s: %v %v", r.CaseRef, got, err)
		}
	}
	res, err := s.Verify(ctx)
	if err != nil || !res.OK || res.Count != int64(len(log)) {
		t.Errorf("Verify = %+v, %v", res, err)
	}
	seq, hash := head(t, s)
	if seq != int64(len(log)) || hash != log[len(log)-1].Hash {
		t.Errorf("Head = %d, want %d", seq, len(log))
	}
}

// testConcurrentOutcomes makes many calls at once, as a store that commits
// concurrent calls together (group commit) would group them: filings that
// conflict, that cannot be encoded or that succeed, appends that fail on
// the stored state, that fail before reaching it, or that succeed. Each
// call must get its own outcome, and the log must hold exactly the
// successful calls, chained and gap-free.
func testConcurrentOutcomes(t *testing.T, s credo.Store) {
	var pre []*credo.Record
	for i := range 10 {
		pre = append(pre, NewRecord("court.pre", i, i))
	}
	file(t, s, pre...)
	const calls = 300
	unencodable := time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			switch i % 6 {
			case 0: // conflicts with a stored record
				r := NewRecord("court.pre", i%10, i%10)
				r.Rule = "OTHER"
				_, errs[i] = s.FileRecords(ctx, []*credo.Record{NewRecord("court.new", i, i), r})
			case 1: // refers to a record that does not exist
				_, errs[i] = s.Append(ctx, []*credo.Event{{Type: credo.EventConsentGiven, Subject: RIC(i), Consent: &credo.Consent{Scheme: "civic", Given: true}},
					{Type: credo.EventRecordRevoked, Change: &credo.RecordChange{RecordID: 1 << 40}}})
			case 2:
				_, errs[i] = s.Append(ctx, []*credo.Event{{Type: credo.EventConsentGiven, Subject: RIC(i), Consent: &credo.Consent{Scheme: "civic", Given: true}}})
			case 3:
				_, errs[i] = s.FileRecords(ctx, []*credo.Record{NewRecord("court.new", i, i)})
			case 4: // an event that cannot be encoded
				_, errs[i] = s.Append(ctx, []*credo.Event{{Type: credo.EventConsentGiven, Subject: RIC(i), Consent: &credo.Consent{Scheme: "civic", Given: true, At: unencodable}}})
			case 5: // a record that cannot be encoded
				r := NewRecord("court.new", i, i)
				r.DecidedAt = unencodable
				_, errs[i] = s.FileRecords(ctx, []*credo.Record{r})
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		want := map[int]string{0: credo.ECONFLICT, 1: credo.ENOTFOUND, 4: credo.EINVALID, 5: credo.EINVALID}[i%6]
		if got := credo.ErrorCode(err); got != want {
			t.Errorf("call %d: error %v (code %q), want code %q", i, err, got, want)
		}
	}
	for i := range calls {
		r := NewRecord("court.new", i, i)
		_, err := s.RecordByCase(ctx, r.Authority, r.CaseRef)
		if (i%6 == 3) != (err == nil) {
			t.Errorf("record court.new %d: %v", i, err)
		}
	}
	log := allEvents(t, s)
	if got, want := len(log), len(pre)+2*calls/6; got != want {
		t.Errorf("log has %d events, want %d", got, want)
	}
	checkChain(t, log, 1, "")
	if res, err := s.Verify(ctx); err != nil || !res.OK || res.Count != int64(len(log)) {
		t.Errorf("Verify = %+v, %v", res, err)
	}
}
