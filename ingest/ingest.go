// Package ingest reads records from the bulk formats authorities deliver:
// CSV with a header row, and NDJSON. It reports every bad line precisely
// (file, line, field, reason) and never stops at one.
package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"credo"
)

// Fields are the columns of a record file; the first six are required.
var Fields = []string{"subject", "rule", "authority", "case_ref", "decided_at", "evidence_sha256",
	"evidence_uri", "quantity", "notified_at", "subject_name", "kind"}

var required = Fields[:6]

// MaxLine is the longest line accepted (longer ones are reported and skipped).
const MaxLine = 1 << 20

// LineError is one rejected line.
type LineError struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (e *LineError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Reason)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
}

// Line is one record read from a file, or the error that stopped it.
type Line struct {
	N      int
	Record *credo.Record
	Err    *LineError
}

// Format is a record file format.
type Format int

// The formats.
const (
	CSV Format = iota
	NDJSON
)

// FormatOf guesses the format from the file name (.csv, .ndjson/.jsonl/.json).
func FormatOf(name string) (Format, error) {
	switch {
	case strings.HasSuffix(name, ".csv"):
		return CSV, nil
	case strings.HasSuffix(name, ".ndjson"), strings.HasSuffix(name, ".jsonl"), strings.HasSuffix(name, ".json"):
		return NDJSON, nil
	}
	return 0, fmt.Errorf("%s: unknown format: name the file .csv or .ndjson", name)
}

// Reader reads records from one file.
type Reader struct {
	file string
	loc  *time.Location
	fmt  Format
	sc   *lineScanner
	cols map[string]int
	n    int
	err  error
}

// NewReader returns a reader for a file's content. Dates without a time
// (YYYY-MM-DD) are midnight in loc, the policy's time zone.
func NewReader(file string, r io.Reader, format Format, loc *time.Location) *Reader {
	return &Reader{file: file, loc: loc, fmt: format, sc: newLineScanner(r)}
}

// Next returns the next line; ok is false at the end of the file (then Err
// tells whether reading failed).
func (r *Reader) Next() (l Line, ok bool) {
	for {
		raw, tooLong, err := r.sc.next()
		if err != nil {
			if err != io.EOF {
				r.err = err
			}
			return Line{}, false
		}
		r.n++
		l = Line{N: r.n}
		if tooLong {
			l.Err = r.lineErr("", "line is longer than %d bytes", MaxLine)
			return l, true
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		if !utf8.Valid(raw) {
			l.Err = r.lineErr("", "line is not valid UTF-8")
			if r.fmt == CSV && r.cols == nil {
				r.err = l.Err
				return Line{}, false
			}
			return l, true
		}
		raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
		switch r.fmt {
		case CSV:
			if r.cols == nil {
				if e := r.header(raw); e != nil {
					r.err = e
					return Line{}, false
				}
				continue
			}
			l.Record, l.Err = r.csvRecord(raw)
		case NDJSON:
			l.Record, l.Err = r.jsonRecord(raw)
		}
		return l, true
	}
}

// Err returns the error that ended reading early, if any.
func (r *Reader) Err() error { return r.err }

func (r *Reader) lineErr(field, format string, args ...any) *LineError {
	return &LineError{File: r.file, Line: r.n, Field: field, Reason: fmt.Sprintf(format, args...)}
}

func (r *Reader) header(raw []byte) *LineError {
	rec, err := csv.NewReader(bytes.NewReader(raw)).Read()
	if err != nil {
		return r.lineErr("", "header row: %v", err)
	}
	r.cols = map[string]int{}
	for i, c := range rec {
		c = strings.TrimSpace(strings.ToLower(c))
		if !contains(Fields, c) {
			return r.lineErr(c, "unknown column %q in the header (columns: %s)", c, strings.Join(Fields, ", "))
		}
		if _, dup := r.cols[c]; dup {
			return r.lineErr(c, "column %q appears twice in the header", c)
		}
		r.cols[c] = i
	}
	for _, f := range required {
		if _, ok := r.cols[f]; !ok {
			return r.lineErr(f, "the header has no %q column (required: %s)", f, strings.Join(required, ", "))
		}
	}
	return nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func (r *Reader) csvRecord(raw []byte) (*credo.Record, *LineError) {
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.FieldsPerRecord = len(r.cols)
	vals, err := cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
			n := strings.Count(string(raw), ",") + 1
			return nil, r.lineErr("", "wrong number of columns: %d, the header has %d", n, len(r.cols))
		}
		return nil, r.lineErr("", "%v", err)
	}
	get := func(f string) string {
		if i, ok := r.cols[f]; ok {
			return strings.TrimSpace(vals[i])
		}
		return ""
	}
	return r.build(get)
}

func (r *Reader) jsonRecord(raw []byte) (*credo.Record, *LineError) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, r.lineErr("", "not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, r.lineErr("", "more than one JSON value on the line")
	}
	for k := range m {
		if !contains(Fields, k) {
			return nil, r.lineErr(k, "unknown field %q", k)
		}
	}
	var bad *LineError
	get := func(f string) string {
		v, ok := m[f]
		if !ok || v == nil {
			return ""
		}
		switch x := v.(type) {
		case string:
			return strings.TrimSpace(x)
		case json.Number:
			if f == "quantity" {
				return x.String()
			}
		}
		if bad == nil {
			bad = r.lineErr(f, "must be a string")
		}
		return ""
	}
	rec, le := r.build(get)
	if bad != nil {
		return nil, bad
	}
	return rec, le
}

func (r *Reader) build(get func(string) string) (*credo.Record, *LineError) {
	for _, f := range required {
		if get(f) == "" {
			return nil, r.lineErr(f, "is required")
		}
	}
	rec := &credo.Record{Subject: get("subject"), Rule: get("rule"), Authority: get("authority"),
		CaseRef: get("case_ref"), EvidenceSHA256: get("evidence_sha256"), EvidenceURI: get("evidence_uri"),
		SubjectName: get("subject_name"), Kind: get("kind")}
	var err error
	if rec.DecidedAt, err = ParseTime(get("decided_at"), r.loc); err != nil {
		return nil, r.lineErr("decided_at", "%v", err)
	}
	if s := get("notified_at"); s != "" {
		if rec.NotifiedAt, err = ParseTime(s, r.loc); err != nil {
			return nil, r.lineErr("notified_at", "%v", err)
		}
	}
	if s := get("quantity"); s != "" {
		q, err := strconv.ParseFloat(s, 64)
		if err != nil || q != q {
			return nil, r.lineErr("quantity", "%q is not a number", s)
		}
		rec.Quantity = q
	}
	return rec, nil
}

// ParseTime parses an RFC 3339 instant or a YYYY-MM-DD date (midnight in loc).
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	var t time.Time
	var err error
	if len(s) == 10 {
		if t, err = time.ParseInLocation("2006-01-02", s, loc); err != nil {
			return time.Time{}, fmt.Errorf("%q is not a valid date (YYYY-MM-DD)", s)
		}
	} else if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a YYYY-MM-DD date", s)
	}
	if t.IsZero() {
		// Go's zero instant stands for "no time" everywhere after this:
		// written out, it is a date, and none the registry accepts.
		return time.Time{}, fmt.Errorf("%q is the zero instant, which stands for no date; dates from 1950-01-01 are accepted (docs/dates.md)", s)
	}
	return t, nil
}

// lineScanner splits input into lines without a line-length limit that
// stops the scan: an overlong line is skipped to its end and flagged.
type lineScanner struct {
	br *bufio.Reader
}

func newLineScanner(r io.Reader) *lineScanner {
	return &lineScanner{br: bufio.NewReaderSize(r, 64<<10)}
}

func (s *lineScanner) next() (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, isPrefix, err := s.br.ReadLine()
		if err != nil {
			if err == io.EOF && (buf != nil || tooLong) {
				return buf, tooLong, nil
			}
			return nil, false, err
		}
		if !tooLong {
			if len(buf)+len(chunk) > MaxLine {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if !isPrefix {
			if buf == nil {
				buf = []byte{}
			}
			return buf, tooLong, nil
		}
	}
}

// AppendNDJSON appends the NDJSON line (with its newline) that reads back as
// rec: the record's filing fields under the column names, times in RFC
// 3339. A batch is forwarded to another node in this form.
func AppendNDJSON(dst []byte, rec *credo.Record) ([]byte, error) {
	m := map[string]any{"subject": rec.Subject, "rule": rec.Rule, "authority": rec.Authority, "case_ref": rec.CaseRef,
		"decided_at": rec.DecidedAt.Format(time.RFC3339Nano), "evidence_sha256": rec.EvidenceSHA256}
	if rec.EvidenceURI != "" {
		m["evidence_uri"] = rec.EvidenceURI
	}
	if rec.SubjectName != "" {
		m["subject_name"] = rec.SubjectName
	}
	if rec.Kind != "" {
		m["kind"] = rec.Kind
	}
	if !rec.NotifiedAt.IsZero() {
		m["notified_at"] = rec.NotifiedAt.Format(time.RFC3339Nano)
	}
	if rec.Quantity != 0 {
		m["quantity"] = rec.Quantity
	}
	b, err := json.Marshal(m)
	if err != nil {
		return dst, err
	}
	return append(append(dst, b...), '\n'), nil
}
