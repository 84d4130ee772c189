// Package canon writes the canonical encoding of record.filed events fast:
// the bytes each store hashes and keeps as the event body, exactly
// credo.CanonicalEncoding, shared by the SQLite and PostgreSQL stores so
// that both logs hash the same.
package canon

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"credo"
)

// Bulk filing spends much of its time encoding record.filed events. The
// body must be exactly credo.CanonicalEncoding (encoding/json of the Event),
// so AppendRecordFiled writes those same bytes directly for the common
// case (ASCII strings without characters JSON or HTML escaping would touch,
// ordinary numbers and times) and falls back to encoding/json for any value
// outside it. The tests compare the two on random and adversarial input,
// and at run time fastEncodingOK compares them once on samples, so that a
// change in encoding/json disables the fast path instead of corrupting the
// log.

// AppendRecordFiled appends the canonical encoding of the record.filed
// event for r, which must already carry its ID and FiledAt, to b.
func AppendRecordFiled(b []byte, r *credo.Record, recorded time.Time, prevHash string) ([]byte, error) {
	if !fastEncodingOK() {
		return appendCanonical(b, recordFiledEvent(r, recorded, prevHash))
	}
	return appendRecordFiledFast(b, r, recorded, prevHash)
}

// appendRecordFiledFast is the hand-written encoder behind AppendRecordFiled.
func appendRecordFiledFast(b []byte, r *credo.Record, recorded time.Time, prevHash string) ([]byte, error) {
	var err error
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, r.ID, 10)
	b = append(b, `,"type":"record.filed"`...)
	if r.Subject != "" {
		b = append(b, `,"subject":`...)
		b = appendString(b, r.Subject)
	}
	b = append(b, `,"recorded":`...)
	if b, err = appendTime(b, recorded); err != nil {
		return nil, err
	}
	if r.Authority != "" {
		b = append(b, `,"actor":`...)
		b = appendString(b, r.Authority)
	}
	b = append(b, `,"record":{"id":`...)
	b = strconv.AppendInt(b, r.ID, 10)
	b = append(b, `,"subject":`...)
	b = appendString(b, r.Subject)
	b = append(b, `,"rule":`...)
	b = appendString(b, r.Rule)
	b = append(b, `,"authority":`...)
	b = appendString(b, r.Authority)
	b = append(b, `,"case_ref":`...)
	b = appendString(b, r.CaseRef)
	b = append(b, `,"decided_at":`...)
	if b, err = appendTime(b, r.DecidedAt); err != nil {
		return nil, err
	}
	if !r.NotifiedAt.IsZero() {
		b = append(b, `,"notified_at":`...)
		if b, err = appendTime(b, r.NotifiedAt); err != nil {
			return nil, err
		}
	}
	if r.Quantity != 0 {
		b = append(b, `,"quantity":`...)
		if b, err = appendFloat(b, r.Quantity); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"evidence_sha256":`...)
	b = appendString(b, r.EvidenceSHA256)
	if r.EvidenceURI != "" {
		b = append(b, `,"evidence_uri":`...)
		b = appendString(b, r.EvidenceURI)
	}
	if r.SubjectName != "" {
		b = append(b, `,"subject_name":`...)
		b = appendString(b, r.SubjectName)
	}
	b = append(b, `,"filed_at":`...)
	if b, err = appendTime(b, r.FiledAt); err != nil {
		return nil, err
	}
	if len(r.Sealed) > 0 {
		b = append(b, `,"sealed":"`...)
		b = base64.StdEncoding.AppendEncode(b, r.Sealed)
		b = append(b, '"')
	}
	b = append(b, `},"prev_hash":`...)
	b = appendString(b, prevHash)
	b = append(b, `,"hash":""}`...)
	return b, nil
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
	c, err := credo.CanonicalEncoding(ev)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "event cannot be encoded: %v", err)
	}
	return append(b, c...), nil
}

// safeASCII[c] reports whether byte c is copied verbatim into a JSON string
// by encoding/json (which escapes control characters, '"', '\\' and, by
// default, '<', '>' and '&').
var safeASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = true
	}
	t['"'], t['\\'], t['<'], t['>'], t['&'] = false, false, false, false, false
	return t
}()

// appendString appends s as encoding/json would. encoding/json copies
// valid UTF-8 verbatim except U+2028 and U+2029; strings with those, with
// invalid UTF-8 or with ASCII it escapes go through encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !safeASCII[c] {
				return appendStringSlow(b, s)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r == '\u2028' || r == '\u2029' {
			return appendStringSlow(b, s)
		}
		i += n
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendStringSlow(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// appendTime appends t as time.Time.MarshalJSON would (RFC 3339 with
// nanoseconds), failing as it would for a year outside 0-9999.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, credo.Errorf(credo.EINVALID, "time %v cannot be encoded: %v", t, err)
	}
	return append(b, '"'), nil
}

// appendFloat appends f as encoding/json encodes a float64.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, credo.Errorf(credo.EINVALID, "quantity %v cannot be encoded", f)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		q, err := json.Marshal(f)
		if err != nil {
			return nil, credo.Errorf(credo.EINVALID, "quantity %v cannot be encoded", f)
		}
		return append(b, q...), nil
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64), nil
}

// fastEncodingOK reports whether appendRecordFiled produces the canonical
// bytes on a set of samples; checked once per process.
var fastEncodingOK = sync.OnceValue(func() bool {
	utc := time.Date(2025, 3, 9, 14, 5, 6, 123456000, time.UTC)
	cst := time.FixedZone("CST", 8*3600)
	samples := []*credo.Record{
		{ID: 1, Subject: "11010519491231002X", Rule: "JUDGMENT_DEFAULT", Authority: "court.beijing",
			CaseRef: "(2024)京0105执1234号", DecidedAt: time.Date(2024, 5, 1, 0, 0, 0, 0, cst),
			EvidenceSHA256: "ab", FiledAt: utc},
		{ID: 1 << 40, Subject: "P:CHN:E12345678", Rule: "R<&>\"\\\n\u2028", Authority: "a", CaseRef: "c",
			DecidedAt: utc, NotifiedAt: utc.Add(time.Nanosecond), Quantity: 12.5,
			EvidenceSHA256: "00", EvidenceURI: "https://x/y?a=1&b=2", SubjectName: "张三\xff", FiledAt: utc},
		{ID: 7, Subject: "s", Rule: "r", Authority: "a", CaseRef: "c", DecidedAt: utc, Quantity: 1e-7, FiledAt: utc},
		{ID: 8, Subject: "s", Rule: "r", Authority: "a", CaseRef: "c", DecidedAt: utc, Quantity: -3, FiledAt: utc},
		{ID: 9, Subject: "p~abc", Rule: "r", Authority: "a", CaseRef: "c~x", DecidedAt: utc, FiledAt: utc, Sealed: []byte{1, 2, 0xff, 0xfe, 3}},
	}
	for _, r := range samples {
		want, err := credo.CanonicalEncoding(recordFiledEvent(r, r.FiledAt, "ff00"))
		if err != nil {
			return false
		}
		got, err := appendRecordFiledFast(nil, r, r.FiledAt, "ff00")
		if err != nil || string(got) != string(want) {
			return false
		}
	}
	return true
})
