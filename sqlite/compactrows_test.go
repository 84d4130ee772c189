package sqlite_test

import (
	"database/sql"
	"encoding/hex"
	"reflect"
	"testing"
	"time"

	"credo"
	"credo/sqlite"
	"credo/storetest"
)

// A row of events written by the current code keeps only seq, the type's
// code, the body and its hash: its subject, recorded and prev_hash columns,
// which the body holds, are empty (writer.go). Rows written before keep
// them in full.

var cst = time.FixedZone("CST", 8*3600)

// workload files records from..from+n-1 and appends an event of each
// kind the columns matter for: a link (two parties), a policy (no
// subject), a change, a notice, a dispute.
func workload(t *testing.T, db *sqlite.DB, from, n int) {
	t.Helper()
	res := fileN(t, db, from, n)
	at := time.Date(2025, 6, 1, 10, 0, 0, 0, cst)
	_, err := db.Append(ctx, []*credo.Event{
		{Type: credo.EventLinkAdded, Actor: "samr.beijing",
			Link: &credo.Link{Org: storetest.USCC(from + 1), Person: storetest.RIC(from + 1), Role: credo.RoleLegalRepresentative, From: at.AddDate(-1, 0, 0)}},
		{Type: credo.EventPolicyPublished, Actor: "admin",
			Policy: &credo.PolicyVersion{Name: "Example", Effective: at, Source: []byte("policy " + storetest.RIC(from))}},
		{Type: credo.EventRecordFulfilled, Actor: "court.test",
			Change: &credo.RecordChange{RecordID: res[1].Record.ID, At: at, Reason: "performed"}},
		{Type: credo.EventNoticeIssued, Notice: &credo.Notice{RecordID: res[2].Record.ID, Rule: res[2].Record.Rule,
			Text: credo.NoticeText{EN: "notice", ZH: "告知"}}},
		{Type: credo.EventDisputeOpened, Actor: "subject",
			Dispute: &credo.Dispute{RecordID: res[3].Record.ID, OpenedAt: at, Grounds: "I paid"}},
	})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
}

// allEvents returns every event of the store.
func allEvents(t *testing.T, db *sqlite.DB) []credo.Event {
	t.Helper()
	evs, err := db.Events(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// checkIntact checks that the log and its projections verify.
func checkIntact(t *testing.T, db *sqlite.DB, n int64) {
	t.Helper()
	if res, err := db.Verify(ctx); err != nil || !res.OK || res.Count != n {
		t.Errorf("Verify = %+v, %v; want OK, %d events", res, err, n)
	}
	if res, err := db.VerifyProjections(ctx); err != nil || !res.OK {
		t.Errorf("VerifyProjections = %+v, %v", res, err)
	}
	if res, err := db.CheckProjections(ctx); err != nil || !res.OK {
		t.Errorf("CheckProjections = %+v, %v", res, err)
	}
}

// checkChained checks what readers take from the bodies: every event has
// its subject (but the policy), its recorded time and the hash of the
// event before.
func checkChained(t *testing.T, evs []credo.Event) {
	t.Helper()
	prev := ""
	for i, ev := range evs {
		if ev.Seq != int64(i+1) || ev.PrevHash != prev || ev.Recorded.IsZero() ||
			(ev.Subject == "") != (ev.Type == credo.EventPolicyPublished) {
			t.Errorf("event %d as read = seq %d, %s, subject %q, recorded %v, prev_hash %q (want %q)",
				i+1, ev.Seq, ev.Type, ev.Subject, ev.Recorded, ev.PrevHash, prev)
		}
		prev = ev.Hash
	}
}

// columnBytes returns the number of events and the bytes their subject,
// recorded and prev_hash columns hold, and the number of type columns that
// hold a name rather than a code. (The records table has no column the
// body repeats from migration 0096 on: TestS09RecordsCompact.)
func columnBytes(t *testing.T, raw *sql.DB) (n, dup, names int64) {
	t.Helper()
	err := raw.QueryRow(`SELECT count(*),
		COALESCE(sum(length(subject) + length(prev_hash) + (recorded != 0) * 8), 0),
		COALESCE(sum(type GLOB '*[^0-9]*'), 0) FROM events`).Scan(&n, &dup, &names)
	if err != nil {
		t.Fatal(err)
	}
	return n, dup, names
}

// TestCompactRowsHoldNoDuplicates: the rows written by filing (one by
// one, in batches, in a bulk load) and by Append hold no byte their body
// holds, their type as its code, and read back whole.
func TestCompactRowsHoldNoDuplicates(t *testing.T) {
	db, path := openDB(t)
	workload(t, db, 0, 300) // 300: FactSplits samples from 256 events on
	fileN(t, db, 300, 1)
	if err := db.StartBulk(ctx); err == nil {
		t.Fatal("StartBulk on a registry with records")
	}
	const total = 300 + 5 + 1

	raw := rawDB(t, path)
	n, dup, names := columnBytes(t, raw)
	if n != total || dup != 0 || names != 0 {
		t.Errorf("%d events whose subject, recorded and prev_hash columns hold %d bytes, %d type columns a name; want %d, 0, 0",
			n, dup, names, total)
	}
	var filed int64
	if err := raw.QueryRow("SELECT count(*) FROM events WHERE type = ?", "1").Scan(&filed); err != nil || filed != 301 {
		t.Errorf("%d events of type code 1 (record.filed), %v; want 301", filed, err)
	}
	raw.Close()

	checkIntact(t, db, total)
	evs := allEvents(t, db)
	checkChained(t, evs)
	links, err := db.EventsOfType(ctx, 0, 0, []credo.EventType{credo.EventLinkAdded, credo.EventRecordFulfilled})
	if err != nil || len(links) != 2 || links[0].Type != credo.EventLinkAdded || links[1].Type != credo.EventRecordFulfilled {
		t.Errorf("EventsOfType(link.added, record.fulfilled) = %d events, %v", len(links), err)
	}
	if splits, err := db.FactSplits(ctx, 2); err != nil || len(splits) != 1 || splits[0] == "" {
		t.Errorf("FactSplits(2) = %q, %v; want one subject", splits, err)
	}

	bulk, bulkPath := openDB(t)
	if err := bulk.StartBulk(ctx); err != nil {
		t.Fatal(err)
	}
	fileN(t, bulk, 0, 50)
	if err := bulk.EndBulk(ctx); err != nil {
		t.Fatal(err)
	}
	raw = rawDB(t, bulkPath)
	if n, dup, names := columnBytes(t, raw); n != 50 || dup != 0 || names != 0 {
		t.Errorf("bulk load: %d events, %d duplicate bytes, %d type names; want 50, 0, 0", n, dup, names)
	}
}

// TestCompactRowsMixedWithFullRows: a registry whose first rows were
// written in full, as before the compact rows (their columns filled from
// their bodies here), and whose later rows are compact reads and verifies
// as one log; the full rows' columns are still compared with their
// bodies.
func TestCompactRowsMixedWithFullRows(t *testing.T) {
	db, path := openDB(t)
	reopen := reopener(path)
	workload(t, db, 0, 300)
	wh := &credo.Webhook{URL: "https://receiver.example/hook", Events: []credo.EventType{credo.EventLinkAdded, credo.EventRecordFulfilled}}
	if err := db.AddWebhook(ctx, wh); err != nil {
		t.Fatal(err)
	}
	workload(t, db, 300, 10) // queued: a link and a fulfilment
	workload(t, db, 400, 10) // the same, to stay compact
	before := allEvents(t, db)
	splits, err := db.FactSplits(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := db.Deliveries(ctx, "", 0)
	if err != nil || len(deliveries) != 4 {
		t.Fatalf("Deliveries = %d, %v", len(deliveries), err)
	}
	db.Close()

	// Rows 1..320 as the code before wrote them: the first workload and
	// the second, with its link and fulfilment queued for the webhook.
	raw := rawDB(t, path)
	mustExec(t, raw, "DROP TRIGGER events_no_update")
	for _, ev := range before[:320] {
		mustExec(t, raw, "UPDATE events SET type = ?, subject = ?, recorded = ?, prev_hash = ? WHERE seq = ?",
			string(ev.Type), ev.Subject, ev.Recorded.UnixMicro(), rawHex(t, ev.PrevHash), ev.Seq)
	}
	raw.Close()

	db = reopen(t)
	raw = rawDB(t, path)
	var full, compact int64
	if err := raw.QueryRow("SELECT sum(length(prev_hash) > 0), sum(length(prev_hash) = 0 AND seq > 1) FROM events").Scan(&full, &compact); err != nil {
		t.Fatal(err)
	}
	if full != 319 || compact != int64(len(before)-320) {
		t.Fatalf("%d full rows and %d compact ones; want 319 and %d", full, compact, len(before)-320)
	}
	raw.Close()

	all := allEvents(t, db)
	checkIntact(t, db, int64(len(all)))
	if !reflect.DeepEqual(all, before) {
		t.Error("the events read back differ from those read before their rows were rewritten in full")
	}
	filed, err := db.EventsOfType(ctx, 0, 0, []credo.EventType{credo.EventRecordFiled})
	if err != nil || len(filed) != 320 {
		t.Errorf("EventsOfType(record.filed) = %d events, %v; want 320, full rows and compact ones", len(filed), err)
	}
	links, err := db.EventsOfType(ctx, 0, 0, []credo.EventType{credo.EventLinkAdded})
	if err != nil || len(links) != 3 {
		t.Errorf("EventsOfType(link.added) = %d events, %v; want 3", len(links), err)
	}
	if got, err := db.FactSplits(ctx, 2); err != nil || !reflect.DeepEqual(got, splits) {
		t.Errorf("FactSplits(2) = %q, %v; want %q as before", got, err, splits)
	}
	got, err := db.Deliveries(ctx, "", 0)
	if err != nil || len(got) != 4 {
		t.Fatalf("Deliveries = %d, %v", len(got), err)
	}
	for i := range got {
		if got[i].Subject != deliveries[i].Subject || got[i].EventType != deliveries[i].EventType || got[i].Subject == "" ||
			got[i].EventType != credo.EventLinkAdded && got[i].EventType != credo.EventRecordFulfilled {
			t.Errorf("delivery %d: %s about %q; was %s about %q", i, got[i].EventType, got[i].Subject, deliveries[i].EventType, deliveries[i].Subject)
		}
	}
	claimed, err := db.ClaimDeliveries(ctx, time.Now(), time.Minute, 10)
	if err != nil || len(claimed) != 4 {
		t.Fatalf("ClaimDeliveries = %d, %v", len(claimed), err)
	}
	for _, d := range claimed {
		if d.Subject == "" || len(d.Body) == 0 {
			t.Errorf("claimed delivery of event %d: subject %q, body %d bytes", d.EventSeq, d.Subject, len(d.Body))
		}
	}

	// Writing on: compact rows after the full ones, and changes to records
	// of both kinds (their subjects checked against the rows).
	workload(t, db, 500, 10)
	for _, id := range []int64{5, 325} { // a full row, a compact one
		r, err := db.Record(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := db.RecordByCase(ctx, r.Authority, r.CaseRef); err != nil || got.ID != id {
			t.Errorf("RecordByCase of record %d = %v, %v", id, got, err)
		}
		_, err = db.Append(ctx, []*credo.Event{{Type: credo.EventRecordRevoked, Subject: storetest.RIC(999), Actor: "court.test",
			Change: &credo.RecordChange{RecordID: id, At: time.Now()}}})
		if credo.ErrorCode(err) != credo.EINVALID {
			t.Errorf("revoking record %d about another subject: %v; want EINVALID", id, err)
		}
		out, err := db.Append(ctx, []*credo.Event{
			{Type: credo.EventRecordRevoked, Actor: "court.test", Change: &credo.RecordChange{RecordID: id, At: time.Now()}},
			{Type: credo.EventNoticeIssued, Notice: &credo.Notice{RecordID: id, Rule: r.Rule, Text: credo.NoticeText{EN: "n", ZH: "n"}}},
		})
		if err != nil || out[0].Subject != r.Subject || out[1].Subject != r.Subject || out[1].Notice.Subject != r.Subject {
			t.Errorf("revoking record %d and its notice: %v", id, err)
		}
	}
	all = allEvents(t, db)
	checkIntact(t, db, int64(len(all)))
	checkChained(t, all)

	// A full row's columns are still compared with its body.
	db.Close()
	raw = rawDB(t, path) // its trigger dropped above
	mustExec(t, raw, "UPDATE events SET subject = ? WHERE seq = 9", storetest.RIC(10))
	raw.Close()
	db = reopen(t)
	if res, err := db.Verify(ctx); err != nil || res.OK || res.Problem != "event 9: content does not match its type and subject columns" {
		t.Errorf("Verify after a full row's subject column changed = %+v, %v", res, err)
	}
}

// TestCompactRowsTamper: on compact rows, whose chain lives in the bodies
// alone, every alteration is still found (storetest.RunTamper, run on
// compact rows by TestTamper, covers the others): a subject, prev_hash or
// type column made to disagree with its body, and a body whose prev_hash
// was rewritten and rehashed.
func TestCompactRowsTamper(t *testing.T) {
	for name, tc := range map[string]struct {
		tamper func(t *testing.T, raw *sql.DB)
		want   string
	}{
		"fill a subject column with another subject": {func(t *testing.T, raw *sql.DB) {
			mustExec(t, raw, "UPDATE events SET subject = (SELECT subject FROM subject_events WHERE seq = 10) WHERE seq = 9")
		}, "event 9: content does not match its type and subject columns"},
		"fill a prev_hash column with another hash": {func(t *testing.T, raw *sql.DB) {
			mustExec(t, raw, "UPDATE events SET prev_hash = (SELECT hash FROM events WHERE seq = 10) WHERE seq = 12")
		}, "event 12: content does not match its prev_hash column"},
		"change a type code": {func(t *testing.T, raw *sql.DB) {
			mustExec(t, raw, "UPDATE events SET type = '2' WHERE seq = 7")
		}, "event 7: content does not match its type and subject columns"},
		"change a type to another's name": {func(t *testing.T, raw *sql.DB) {
			mustExec(t, raw, "UPDATE events SET type = 'record.revoked' WHERE seq = 7")
		}, "event 7: content does not match its type and subject columns"},
		"rewrite a body's prev_hash and rehash it": {func(t *testing.T, raw *sql.DB) {
			var body []byte
			if err := raw.QueryRow("SELECT body FROM events WHERE seq = 15").Scan(&body); err != nil {
				t.Fatal(err)
			}
			ev, err := credo.DecodeCanonical(body)
			if err != nil {
				t.Fatal(err)
			}
			ev.PrevHash = credo.HashBytes([]byte("forged"))
			if body, err = credo.CanonicalEncoding(ev); err != nil {
				t.Fatal(err)
			}
			mustExec(t, raw, "UPDATE events SET body = ?, hash = ? WHERE seq = 15", body, rawHash(body))
		}, "event 15: prev_hash does not match event 14"},
	} {
		t.Run(name, func(t *testing.T) {
			db, path := openDB(t)
			reopen := reopener(path)
			fileN(t, db, 0, 30)
			db.Close()
			raw := rawDB(t, path)
			if n, dup, _ := columnBytes(t, raw); n != 30 || dup != 0 {
				t.Fatalf("%d events, %d duplicate bytes: not compact rows", n, dup)
			}
			mustExec(t, raw, "DROP TRIGGER events_no_update")
			tc.tamper(t, raw)
			raw.Close()
			db = reopen(t)
			if res, err := db.Verify(ctx); err != nil || res.OK || res.Problem != tc.want {
				t.Errorf("Verify = %+v, %v; want %q", res, err, tc.want)
			}
		})
	}
}

// TestCompactRecordsProjectionTamper: a row of the compact records table
// (migration 0096) whose subject, authority or case key is altered is
// found by VerifyProjections.
func TestCompactRecordsProjectionTamper(t *testing.T) {
	for _, q := range []string{
		"UPDATE records SET case_key = case_key + 1 WHERE id = 7",
		"UPDATE records SET authority = 'court.other' WHERE id = 7",
		"UPDATE records SET subject = (SELECT subject FROM subject_events WHERE seq = 8) WHERE id = 7",
	} {
		db, path := openDB(t)
		fileN(t, db, 0, 10)
		raw := rawDB(t, path)
		mustExec(t, raw, q)
		raw.Close()
		res, err := db.VerifyProjections(ctx)
		if err != nil || res.OK || len(res.Problems) != 1 || res.Problems[0].Table != "records" {
			t.Errorf("after %s: VerifyProjections = %+v, %v; want a problem in records", q, res, err)
		}
	}
}

// rawHex is a hex hash as a hash column holds it.
func rawHex(t *testing.T, h string) []byte {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reopener returns a function that opens the store's file again (after
// the test closed it), closed at cleanup.
func reopener(path string) func(t *testing.T) *sqlite.DB {
	return func(t *testing.T) *sqlite.DB {
		t.Helper()
		db, err := sqlite.Open(path)
		if err != nil {
			t.Fatalf("reopening: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}
