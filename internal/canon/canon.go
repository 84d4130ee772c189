// Package canon writes the canonical encoding of record.filed events fast:
// the bytes each store hashes and keeps as the event body, exactly
// credo.CanonicalEncoding, shared by the SQLite and PostgreSQL stores so
// that both logs hash the same.
package canon

import (
	"encoding/hex"
	"math"
	"sync"
	"time"
	"unicode/utf8"

	"credo"
)

// Bulk filing spends much of its time encoding record.filed events. The
// body must be exactly credo.CanonicalEncoding (the deterministic CBOR of
// docs/event-encoding.md, written by reflection), so AppendRecordFiled
// writes those same bytes directly for the common case (valid UTF-8, no
// quantity or a finite one) and falls back to credo.AppendCanonical for any record outside
// it. The tests compare the two on random and adversarial input, and at
// run time fastEncodingOK compares them once on samples, so that a change
// of the encoding disables the fast path instead of corrupting the log.

// AppendRecordFiled appends the canonical encoding of the record.filed
// event for r, which must already carry its ID and FiledAt, to b.
func AppendRecordFiled(b []byte, r *credo.Record, recorded time.Time, prevHash string) ([]byte, error) {
	if !fastEncodingOK() {
		return appendCanonical(b, recordFiledEvent(r, recorded, prevHash))
	}
	return appendRecordFiledFast(b, r, recorded, prevHash)
}

// The field numbers of docs/event-encoding.md the fast path writes.
const (
	evSeq, evType, evSubject, evRecorded, evActor, evRecord, evPrevHash = 1, 2, 3, 4, 5, 6, 16
	recRule, recCaseRef, recDecidedAt, recNotifiedAt, recQuantity       = 3, 5, 6, 7, 8
	recEvidence, recEvidenceURI, recSubjectName, recKind, recFiledAt    = 9, 10, 11, 12, 13
	recSealed                                                           = 14
	typeRecordFiled                                                     = 1
)

// appendRecordFiledFast is the hand-written encoder behind AppendRecordFiled.
func appendRecordFiledFast(b []byte, r *credo.Record, recorded time.Time, prevHash string) ([]byte, error) {
	filedAt := !credo.SameInstant(r.FiledAt, recorded) // else the event's recorded time
	if !fastPathFits(r, prevHash) || filedAt && r.FiledAt.IsZero() {
		return appendCanonical(b, recordFiledEvent(r, recorded, prevHash))
	}
	n := 3 // seq, type, record
	for _, set := range []bool{r.Subject != "", !recorded.IsZero(), r.Authority != "", prevHash != ""} {
		if set {
			n++
		}
	}
	b = appendHead(b, 0xa0, uint64(n))
	b = appendHead(b, 0, evSeq)
	b = appendInt(b, r.ID)
	b = append(b, evType, typeRecordFiled)
	if r.Subject != "" {
		b = appendText(append(b, evSubject), r.Subject)
	}
	if !recorded.IsZero() {
		b = appendTime(append(b, evRecorded), recorded)
	}
	if r.Authority != "" {
		b = appendText(append(b, evActor), r.Authority)
	}
	b = append(b, evRecord)
	// The record, without its id, subject, authority and filing time
	// (the event's).
	n = 0
	for _, set := range []bool{r.Rule != "", r.CaseRef != "", !r.DecidedAt.IsZero(), !r.NotifiedAt.IsZero(), r.Quantity != 0,
		r.EvidenceSHA256 != "", r.EvidenceURI != "", r.SubjectName != "", r.Kind != "", filedAt, len(r.Sealed) > 0} {
		if set {
			n++
		}
	}
	b = appendHead(b, 0xa0, uint64(n))
	if r.Rule != "" {
		b = appendText(append(b, recRule), r.Rule)
	}
	if r.CaseRef != "" {
		b = appendText(append(b, recCaseRef), r.CaseRef)
	}
	if !r.DecidedAt.IsZero() {
		b = appendTime(append(b, recDecidedAt), r.DecidedAt)
	}
	if !r.NotifiedAt.IsZero() {
		b = appendTime(append(b, recNotifiedAt), r.NotifiedAt)
	}
	if r.Quantity != 0 {
		b = credo.AppendCanonicalFloat(append(b, recQuantity), r.Quantity)
	}
	if r.EvidenceSHA256 != "" {
		b = appendHex(append(b, recEvidence), r.EvidenceSHA256)
	}
	if r.EvidenceURI != "" {
		b = appendText(append(b, recEvidenceURI), r.EvidenceURI)
	}
	if r.SubjectName != "" {
		b = appendText(append(b, recSubjectName), r.SubjectName)
	}
	if r.Kind != "" {
		b = appendText(append(b, recKind), r.Kind)
	}
	if filedAt {
		b = appendTime(append(b, recFiledAt), r.FiledAt)
	}
	if len(r.Sealed) > 0 {
		b = appendHead(append(b, recSealed), 0x40, uint64(len(r.Sealed)))
		b = append(b, r.Sealed...)
	}
	if prevHash != "" {
		b = appendHex(append(b, evPrevHash), prevHash)
	}
	return b, nil
}

// fastPathFits reports whether appendRecordFiledFast can encode r: an id,
// a finite quantity (NaN and the infinities take the reflective path, which
// refuses them) and valid UTF-8 strings.
func fastPathFits(r *credo.Record, prevHash string) bool {
	if r.ID == 0 || math.IsNaN(r.Quantity) || math.IsInf(r.Quantity, 0) {
		return false
	}
	for _, s := range []string{r.Subject, r.Rule, r.Authority, r.CaseRef, r.EvidenceSHA256, r.EvidenceURI, r.SubjectName, r.Kind, prevHash} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// recordFiledEvent is the event that files r.
func recordFiledEvent(r *credo.Record, recorded time.Time, prevHash string) *credo.Event {
	return &credo.Event{
		Seq:      r.ID,
		Type:     credo.EventRecordFiled,
		Subject:  r.Subject,
		Recorded: recorded,
		Actor:    r.Authority,
		Record:   r,
		PrevHash: prevHash,
	}
}

// appendCanonical appends credo.CanonicalEncoding(ev) to b.
func appendCanonical(b []byte, ev *credo.Event) ([]byte, error) {
	b, err := credo.AppendCanonical(b, ev)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "event cannot be encoded: %v", err)
	}
	return b, nil
}

// appendHead appends a CBOR head of the major type with argument n, in
// its shortest form.
func appendHead(b []byte, major byte, n uint64) []byte {
	switch {
	case n < 24:
		return append(b, major|byte(n))
	case n <= 0xff:
		return append(b, major|24, byte(n))
	case n <= 0xffff:
		return append(b, major|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(b, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, major|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendInt(b []byte, n int64) []byte {
	if n >= 0 {
		return appendHead(b, 0, uint64(n))
	}
	return appendHead(b, 0x20, uint64(-1-n))
}

// appendText appends a valid UTF-8 string as a text string.
func appendText(b []byte, s string) []byte {
	return append(appendHead(b, 0x60, uint64(len(s))), s...)
}

// appendHex appends a hex field: its bytes if lowercase hex, else text.
func appendHex(b []byte, s string) []byte {
	if len(s)%2 != 0 {
		return appendText(b, s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return appendText(b, s)
		}
	}
	b = appendHead(b, 0x40, uint64(len(s)/2))
	b, _ = hex.AppendDecode(b, []byte(s)) // checked above
	return b
}

// appendTime appends an instant: seconds; [seconds, offset]; or
// [seconds, offset, nanoseconds].
func appendTime(b []byte, t time.Time) []byte {
	_, off := t.Zone()
	sec, nsec := t.Unix(), t.Nanosecond()
	switch {
	case nsec == 0 && off == 0:
		return appendInt(b, sec)
	case nsec == 0:
		return appendInt(appendInt(append(b, 0x82), sec), int64(off))
	}
	return appendInt(appendInt(appendInt(append(b, 0x83), sec), int64(off)), int64(nsec))
}

// fastEncodingOK reports whether appendRecordFiledFast produces the
// canonical bytes on a set of samples; checked once per process.
var fastEncodingOK = sync.OnceValue(func() bool {
	utc := time.Date(2025, 3, 9, 14, 5, 6, 123456000, time.UTC)
	cst := time.FixedZone("CST", 8*3600)
	samples := []*credo.Record{
		{ID: 1, Subject: "11010519491231002X", Rule: "JUDGMENT_DEFAULT", Authority: "court.beijing",
			CaseRef: "(2024)京0105执1234号", DecidedAt: time.Date(2024, 5, 1, 0, 0, 0, 0, cst),
			EvidenceSHA256: "ab", FiledAt: utc},
		{ID: 1 << 40, Subject: "P:CHN:E12345678", Rule: "R<&>\"\\\n\u2028", Authority: "a", CaseRef: "c",
			DecidedAt: utc, NotifiedAt: utc.Add(time.Nanosecond),
			EvidenceSHA256: "00", EvidenceURI: "https://x/y?a=1&b=2", SubjectName: "张三", Kind: "person", FiledAt: utc},
		{ID: 7, Subject: "s", Rule: "r", Authority: "a", CaseRef: "c", DecidedAt: utc, EvidenceSHA256: "AB", FiledAt: utc, Quantity: 4},
		{ID: 10, Rule: "r", CaseRef: "c", DecidedAt: utc, FiledAt: utc, Quantity: 0.1},
		{ID: 11, Rule: "r", CaseRef: "c", DecidedAt: utc, FiledAt: utc, Quantity: -1.5e-7},
		{ID: 8, Rule: "r", CaseRef: "c", DecidedAt: time.Unix(-1, 0), FiledAt: utc},
		{ID: 9, Subject: "p~abc", Rule: "r", Authority: "a", CaseRef: "c~x", DecidedAt: utc, FiledAt: utc, Sealed: []byte{1, 2, 0xff, 0xfe, 3}},
	}
	for _, prev := range []string{"", "ff00", "not hex"} {
		for _, r := range samples {
			want, err := credo.CanonicalEncoding(recordFiledEvent(r, r.FiledAt, prev))
			if err != nil {
				return false
			}
			got, err := appendRecordFiledFast(nil, r, r.FiledAt, prev)
			if err != nil || string(got) != string(want) {
				return false
			}
		}
	}
	return true
})
