package storecore

import (
	"strconv"
	"testing"
	"time"

	"credo"
	"credo/internal/canon"
)

// TestTypeColumn: every event type has a code, the number the canonical
// encoding gives it, which reads back as the type; a name reads back as
// itself; filters ask for both.
func TestTypeColumn(t *testing.T) {
	seen := map[string]bool{}
	for _, typ := range eventTypes {
		c := TypeColumn(typ)
		if _, err := strconv.Atoi(c); err != nil || seen[c] {
			t.Errorf("TypeColumn(%s) = %q: not a number, or one already given", typ, c)
		}
		seen[c] = true
		if ColumnType(c) != typ || ColumnType(string(typ)) != typ {
			t.Errorf("ColumnType(%q), ColumnType(%q) = %s, %s; want %s", c, typ, ColumnType(c), ColumnType(string(typ)), typ)
		}
		if !TypeColumnMatches(c, typ) || !TypeColumnMatches(string(typ), typ) || TypeColumnMatches(c, credo.EventType("other")) {
			t.Errorf("TypeColumnMatches wrong for %s", typ)
		}
		if got, _, err := BodyHead(mustEncode(t, &credo.Event{Seq: 1 << 40, Type: typ})); err != nil || got != typ {
			t.Errorf("BodyHead of a %s event = %s, %v", typ, got, err)
		}
	}
	if TypeColumn(credo.EventRecordFiled) != "1" || TypeColumn(credo.EventNoticeIssued) != "14" {
		t.Errorf("record.filed, notice.issued codes = %q, %q; want 1, 14 (docs/event-encoding.md)",
			TypeColumn(credo.EventRecordFiled), TypeColumn(credo.EventNoticeIssued))
	}
	if c := TypeColumn("some.future"); c != "some.future" || ColumnType(c) != "some.future" {
		t.Errorf("a type without a code: column %q", c)
	}
	vals := TypeColumnValues([]credo.EventType{credo.EventLinkAdded, "some.future"})
	if len(vals) != 3 || vals[0] != "link.added" || vals[1] != "11" || vals[2] != "some.future" {
		t.Errorf("TypeColumnValues = %v", vals)
	}
}

func mustEncode(t *testing.T, ev *credo.Event) []byte {
	t.Helper()
	b, err := credo.CanonicalEncoding(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBodyHead: the subject and type read from a body's head are those
// of the decoded event, for every shape of head.
func TestBodyHead(t *testing.T) {
	at := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	prev := credo.HashBytes([]byte("prev"))
	r := &credo.Record{Subject: "p~wrwsh2g74sipzfn7att7e3o5wa", Rule: "R", Authority: "court.test", CaseRef: "c1", DecidedAt: at, FiledAt: at, ID: 300}
	fast, err := canon.AppendRecordFiled(nil, r, at, prev)
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string][]byte{
		"record.filed (fast path)": fast,
		"policy (no subject)": mustEncode(t, &credo.Event{Seq: 2, Type: credo.EventPolicyPublished, Recorded: at, Actor: "admin",
			Policy: &credo.PolicyVersion{Name: "P", Effective: at}, PrevHash: prev}),
		"link": mustEncode(t, &credo.Event{Seq: 70000, Type: credo.EventLinkAdded, Subject: "911101010000040100", Recorded: at,
			Link: &credo.Link{Org: "911101010000040100", Person: "110101195002130010", Role: "principal", From: at}, PrevHash: prev}),
		"a type without a code": mustEncode(t, &credo.Event{Seq: 3, Type: "some.future", Subject: "S", Recorded: at}),
		"no seq, no type":       mustEncode(t, &credo.Event{Subject: "S"}),
		"nothing":               mustEncode(t, &credo.Event{}),
	}
	for name, body := range bodies {
		ev, err := credo.DecodeCanonical(body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		typ, subject, err := bodyHead(body) // the fast reader itself
		if err != nil || typ != ev.Type || subject != ev.Subject {
			t.Errorf("%s: bodyHead = %s, %q, %v; want %s, %q", name, typ, subject, err, ev.Type, ev.Subject)
		}
		if s, err := BodySubject(body); err != nil || s != ev.Subject {
			t.Errorf("%s: BodySubject = %q, %v; want %q", name, s, err, ev.Subject)
		}
	}
	// A body the head reader does not know is decoded in full (here: a
	// subject that is not valid UTF-8 cannot be read from the head).
	if _, _, err := bodyHead([]byte{0xa1, 0x03, 0x61, 0xff}); err == nil {
		t.Error("bodyHead read an invalid subject")
	}
	if _, err := BodySubject([]byte{0x01}); err == nil {
		t.Error("BodySubject of a body that is not an event: no error")
	}
}
