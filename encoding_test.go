package credo_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"credo"
)

var (
	cst = time.FixedZone("", 8*3600)
	utc = time.Date(2025, 3, 9, 14, 5, 6, 123456000, time.UTC)
)

// sampleEvents has one event of every payload, with every field set.
func sampleEvents() []*credo.Event {
	day := time.Date(2024, 5, 1, 0, 0, 0, 0, cst)
	h := credo.HashBytes([]byte("x"))
	return []*credo.Event{
		{Seq: 1, Type: credo.EventRecordFiled, Subject: "11010519491231002X", Recorded: utc, Actor: "court.beijing",
			Record: &credo.Record{ID: 1, Subject: "11010519491231002X", Rule: "JUDGMENT_DEFAULT", Authority: "court.beijing",
				CaseRef: "(2024)京0105执1234号", DecidedAt: day, NotifiedAt: day.Add(time.Hour), Quantity: 12.5,
				EvidenceSHA256: h, EvidenceURI: "https://x/y?a=1&b=2", SubjectName: "张三", FiledAt: utc}},
		{Seq: 2, Type: credo.EventRecordRevoked, Subject: "s", Recorded: utc, Actor: "a", PrevHash: h,
			Change: &credo.RecordChange{RecordID: 1, At: day, Reason: "r", VoidAbInitio: true, ApplicationID: 9}},
		{Seq: 3, Type: credo.EventDisputeOpened, Subject: "s", Recorded: utc, PrevHash: h,
			Dispute: &credo.Dispute{ID: 3, RecordID: 1, OpenedAt: day, Appeal: true, Grounds: "g", EvidenceSHA256: "NOT HEX", NewInformation: true}},
		{Seq: 4, Type: credo.EventDisputeDecided, Subject: "s", Recorded: utc, PrevHash: h,
			Decision: &credo.DisputeDecision{DisputeID: 3, RecordID: 1, At: day, Outcome: "upheld", Reason: "r"}},
		{Seq: 5, Type: credo.EventRepairApplied, Subject: "s", Recorded: utc, PrevHash: h,
			Repair: &credo.RepairApplication{ID: 5, RecordID: 1, AppliedAt: day, Statement: "st", Commitment: true}},
		{Seq: 6, Type: credo.EventRepairRefused, Subject: "s", Recorded: utc, PrevHash: h,
			Refusal: &credo.RepairRefusal{ApplicationID: 5, RecordID: 1, At: day, Reason: "r"}},
		{Seq: 7, Type: credo.EventConsentGiven, Subject: "s", Recorded: utc, PrevHash: h,
			Consent: &credo.Consent{Scheme: "x", At: day, Given: true}},
		{Seq: 8, Type: credo.EventLinkAdded, Subject: "o", Recorded: utc, PrevHash: h,
			Link: &credo.Link{Org: "o", Person: "p", Role: "principal", From: day, Until: day.AddDate(1, 0, 0),
				Authority: "a", LegalBasis: "lb", EvidenceSHA256: h}},
		{Seq: 9, Type: credo.EventPolicyPublished, Recorded: utc, PrevHash: h,
			Policy: &credo.PolicyVersion{Hash: h, Name: "n", Effective: day, Published: utc, Source: []byte("src\x00\xff")}},
		{Seq: 10, Type: credo.EventNoticeIssued, Subject: "s", Recorded: utc, PrevHash: h,
			Notice: &credo.Notice{RecordID: 1, Subject: "s", SubjectName: "n", Rule: "R", RuleTitle: "t", Severity: "serious",
				Authority: credo.NoticeAuthority{ID: "a", Name: "A"}, CaseRef: "c", DecidedAt: day, LegalBasis: "lb", Policy: h,
				ServedAt: day, Lists: []credo.NoticeListing{{List: "l", Title: "t", Kind: "black", Public: true, LegalBasis: "lb",
					From: day, Until: day.AddDate(3, 0, 0), UntilFulfilled: true}},
				Points:        []credo.NoticePoints{{Scheme: "s", Title: "t", Points: -40, Capped: true}},
				EffectiveFrom: day, Lasts: day, ObjectUntil: day, ReviewWithin: "15d", AppealTo: "x", AppealWithin: "30d",
				RepairFrom: day, HowToObject: "h", Minor: true,
				Party: &credo.NoticeParty{Org: "o", OrgName: "O", Role: "principal", Measures: []credo.NoticeMeasure{
					{Measure: "m", Title: "t", Sector: "s", Effect: "deny", LegalBasis: "lb", ExemptPrivate: true}}},
				Text: credo.NoticeText{EN: "en", ZH: "中文"}}},
		{Seq: 11, Type: "some.future.type", Subject: "s", Recorded: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), PrevHash: h},
	}
}

// TestI01CanonicalEncodingRoundTrip: every payload decodes to the event
// it was encoded from, times with their offsets included.
func TestI01CanonicalEncodingRoundTrip(t *testing.T) {
	for _, ev := range sampleEvents() {
		b, err := credo.CanonicalEncoding(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := credo.DecodeCanonical(b)
		if err != nil {
			t.Fatalf("event %d: %v", ev.Seq, err)
		}
		if !reflect.DeepEqual(got, ev) {
			t.Errorf("event %d round trip:\n got %+v\nwant %+v", ev.Seq, got, ev)
		}
		if got.Recorded.Location() != ev.Recorded.Location() && ev.Recorded.Location() != time.UTC {
			t.Errorf("event %d: location %v", ev.Seq, got.Recorded.Location())
		}
	}
}

// TestI01CanonicalEncodingIsCoreDeterministic: what CanonicalEncoding
// writes is RFC 8949 core deterministic CBOR: an independent
// implementation (fxamacker/cbor with CoreDetEncOptions) decodes it and
// encodes it again to the same bytes.
func TestI01CanonicalEncodingIsCoreDeterministic(t *testing.T) {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, b []byte) {
		t.Helper()
		var v any
		if err := cbor.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: not CBOR: %v", name, err)
		}
		again, err := em.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Errorf("%s: not core deterministic:\n got %x\nwant %x", name, b, again)
		}
	}
	for _, ev := range sampleEvents() {
		b, err := credo.CanonicalEncoding(ev)
		if err != nil {
			t.Fatal(err)
		}
		check(string(ev.Type), b)
	}
	// Floats in their shortest exact form, integers at their boundaries.
	rng := rand.New(rand.NewPCG(1, 2))
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 65504, 65505, 1e-7, 5.960464477539063e-08, 6.103515625e-05,
		3.4028234663852886e+38, 1e300, math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64, 0.1, 12.5, 100000}
	for range 2000 {
		floats = append(floats, math.Float64frombits(rng.Uint64()), float64(math.Float32frombits(rng.Uint32())),
			float64(rng.IntN(1<<16))/float64(int(1)<<rng.IntN(30)))
	}
	for _, f := range floats {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			ev := &credo.Event{Seq: 1, Type: credo.EventRecordFiled, Record: &credo.Record{ID: 1, Quantity: f}}
			if _, err := credo.CanonicalEncoding(ev); err == nil {
				t.Errorf("quantity %v encoded", f)
			}
			continue
		}
		ev := &credo.Event{Seq: 1, Type: credo.EventRecordFiled, Record: &credo.Record{ID: 1, Quantity: f}}
		b, err := credo.CanonicalEncoding(ev)
		if err != nil {
			t.Fatal(err)
		}
		check("quantity", b)
		got, err := credo.DecodeCanonical(b)
		// -0 is the zero value, left out and read back as 0 (as with JSON).
		if err != nil || math.Float64bits(got.Record.Quantity) != math.Float64bits(f) && f != 0 {
			t.Fatalf("quantity %v (%x): decoded %v, %v", f, math.Float64bits(f), got.Record.Quantity, err)
		}
	}
	for _, n := range []int64{0, 23, 24, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, math.MaxInt64, -1, -24, -25, -256, -257, math.MinInt64} {
		ev := &credo.Event{Seq: n, Type: credo.EventRecordRevoked, Change: &credo.RecordChange{RecordID: n}}
		b, err := credo.CanonicalEncoding(ev)
		if err != nil {
			t.Fatal(err)
		}
		check("integer", b)
		if got, err := credo.DecodeCanonical(b); err != nil || got.Seq != n {
			t.Fatalf("seq %d: decoded %v, %v", n, got, err)
		}
	}
}

// TestI01CanonicalEncodingLayout holds the layout of docs/event-encoding.md
// byte for byte: a change to it changes every hash of every log.
func TestI01CanonicalEncodingLayout(t *testing.T) {
	ev := &credo.Event{Seq: 2, Type: credo.EventRecordFiled, Subject: "S", Actor: "a",
		Recorded: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Record: &credo.Record{ID: 2, Subject: "S", Authority: "a", Rule: "R", CaseRef: "c",
			DecidedAt: time.Date(2024, 5, 1, 0, 0, 0, 0, cst), EvidenceSHA256: "ab01",
			FiledAt: time.Date(2025, 1, 1, 0, 0, 0, 5, time.UTC)},
		PrevHash: "00ff"}
	b, err := credo.CanonicalEncoding(ev)
	if err != nil {
		t.Fatal(err)
	}
	const want = "a7" + // a map of 7 fields
		"0102" + // 1 seq: 2
		"0201" + // 2 type: 1 (record.filed)
		"036153" + // 3 subject: "S"
		"041a67748580" + // 4 recorded: 1735689600 (UTC, whole second)
		"056161" + // 5 actor: "a"
		"06a5" + // 6 record: a map of 5 fields (id, subject, authority elided)
		"036152" + // 3 rule: "R"
		"056163" + // 5 case_ref: "c"
		"06821a66311580 197080" + // 6 decided_at: [1714492800, 28800] (midnight at +08:00)
		"0942ab01" + // 9 evidence_sha256: h'ab01'
		"0d831a67748580 00 05" + // 13 filed_at: [1735689600, 0, 5]
		"104200ff" // 16 prev_hash: h'00ff'
	if got := hex.EncodeToString(b); got != stripSpaces(want) {
		t.Errorf("encoding\n got %s\nwant %s", got, stripSpaces(want))
	}
}

func stripSpaces(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil))
}

// TestS02NoticeBodyKeepsDigestsNotTexts: a notice rendered by a template
// is stored as its facts and the digests of its texts; one without a
// template keeps its texts.
func TestS02NoticeBodyKeepsDigestsNotTexts(t *testing.T) {
	ev := sampleEvents()[9]
	n := ev.Notice
	n.Text = credo.NoticeText{EN: "Notice of record 1", ZH: "记录1告知书"}
	n.Template, n.TextSHA256 = 1, credo.NoticeText{EN: credo.HashBytes([]byte(n.Text.EN)), ZH: credo.HashBytes([]byte(n.Text.ZH))}
	b, err := credo.CanonicalEncoding(ev)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(n.Text.EN)) || bytes.Contains(b, []byte(n.Text.ZH)) {
		t.Errorf("the body holds the texts")
	}
	got, err := credo.DecodeCanonical(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Notice.Text != (credo.NoticeText{}) || got.Notice.TextSHA256 != n.TextSHA256 || got.Notice.Template != 1 {
		t.Errorf("decoded %+v", got.Notice)
	}
	if n.Text.EN == "" {
		t.Fatal("CanonicalEncoding altered the event")
	}
	n.Template = 0
	if b, _ = credo.CanonicalEncoding(ev); !bytes.Contains(b, []byte(n.Text.ZH)) {
		t.Errorf("a notice without a template lost its texts")
	}
}

// The encodings of version 1 (JSON) and 2 (CBOR) of a record.filed and a
// notice.issued event: sizes (b/event) and speed.
func benchEvents() map[string]*credo.Event {
	evs := sampleEvents()
	n := evs[9]
	n.Notice.Text = credo.NoticeText{EN: string(bytes.Repeat([]byte("a notice text "), 70)), ZH: string(bytes.Repeat([]byte("告知书文本"), 60))}
	n.Notice.Template, n.Notice.TextSHA256 = 1, credo.NoticeText{EN: credo.HashBytes([]byte(n.Notice.Text.EN)), ZH: credo.HashBytes([]byte(n.Notice.Text.ZH))}
	return map[string]*credo.Event{"record": evs[0], "notice": n}
}

func BenchmarkEncodeJSON(b *testing.B) {
	for name, ev := range benchEvents() {
		b.Run(name, func(b *testing.B) {
			var n int
			for b.Loop() {
				c := *ev
				c.Hash = ""
				body, _ := json.Marshal(&c)
				n = len(body)
			}
			b.ReportMetric(float64(n), "bytes/event")
		})
	}
}

func BenchmarkEncodeCBOR(b *testing.B) {
	for name, ev := range benchEvents() {
		b.Run(name, func(b *testing.B) {
			var n int
			buf := make([]byte, 0, 4096)
			for b.Loop() {
				body, _ := credo.AppendCanonical(buf[:0], ev)
				n = len(body)
			}
			b.ReportMetric(float64(n), "bytes/event")
		})
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	for name, ev := range benchEvents() {
		body, _ := json.Marshal(ev)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				var e credo.Event
				if err := json.Unmarshal(body, &e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeCBOR(b *testing.B) {
	for name, ev := range benchEvents() {
		body, _ := credo.CanonicalEncoding(ev)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := credo.DecodeCanonical(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
