package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// The check endpoint is the hot path: this file holds what keeps it cheap
// without changing what it accepts or returns. Bodies are read into pooled
// buffers; the common body shape {"subject":"…","sector":"…"} is parsed
// without reflection (anything else goes through encoding/json with the
// same strictness); a plain allow is encoded without reflection.

var (
	contentTypeJSON = []string{"application/json"}
	cacheNoStore    = []string{"no-store"}
)

// setJSONHeaders sets the headers of a JSON response without allocating.
func setJSONHeaders(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h["Cache-Control"] = cacheNoStore
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { b := bufPool.Get().(*bytes.Buffer); b.Reset(); return b }

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 64<<10 {
		bufPool.Put(b)
	}
}

// readBody reads a request body of at most limit bytes into buf.
func readBody(r *http.Request, buf *bytes.Buffer, limit int64) error {
	if r.ContentLength > limit {
		return &httpError{kind: kindTooLarge, detail: fmt.Sprintf("the request body is larger than %d bytes", limit)}
	}
	buf.Grow(max(512, int(r.ContentLength)+1)) // room for the answer too
	for {
		if int64(buf.Len()) > limit {
			return &httpError{kind: kindTooLarge, detail: fmt.Sprintf("the request body is larger than %d bytes", limit)}
		}
		if buf.Available() == 0 {
			buf.Grow(4096)
		}
		b := buf.AvailableBuffer()
		n, err := r.Body.Read(b[:cap(b)])
		buf.Write(b[:n])
		switch {
		case err == io.EOF:
			if int64(buf.Len()) > limit {
				return &httpError{kind: kindTooLarge, detail: fmt.Sprintf("the request body is larger than %d bytes", limit)}
			}
			return nil
		case err != nil:
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return &httpError{kind: kindTooLarge, detail: fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit)}
			}
			return invalid("", "reading the request body: %v", err)
		}
	}
}

// unmarshalStrict decodes one JSON object from b into v, refusing unknown
// fields, wrong types and trailing data, with errors that name the field.
func unmarshalStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("", "unexpected data after the JSON object")
	}
	return nil
}

// parseCheckFast parses a check body of the common shape: one object with
// the members "subject" and "sector" and optionally "kind" (each at most
// once, in any order),
// string values without escapes, and nothing else. ok is false for any
// other input, which the caller then decodes with encoding/json.
func parseCheckFast(b []byte, q *CheckRequest) (ok bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	var seenSubject, seenSector, seenKind bool
	for n := 0; ; n++ {
		if i < len(b) && b[i] == '}' && n == 0 {
			break
		}
		key, j, ok := plainString(b, i)
		if !ok {
			return false
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		val, j, ok := plainString(b, skipWS(b, i+1))
		if !ok {
			return false
		}
		switch string(key) {
		case "subject":
			if seenSubject {
				return false
			}
			seenSubject, q.Subject = true, string(val)
		case "sector":
			if seenSector {
				return false
			}
			seenSector, q.Sector = true, string(val)
		case "kind":
			if seenKind {
				return false
			}
			seenKind = true
			switch string(val) { // no allocation: compared, not kept
			case "person":
				q.Kind = "person"
			case "org":
				q.Kind = "org"
			default:
				q.Kind = string(val)
			}
		default:
			return false
		}
		i = skipWS(b, j)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			break
		}
		return false
	}
	return skipWS(b, i+1) == len(b)
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads a JSON string at b[i] that has no escapes and only
// printable ASCII, returning its content and the index after it.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// appendAllow appends the JSON of a plain allow (no params, measures,
// grants or reasons), exactly as encoding/json would write it.
func appendAllow(b []byte, c *CheckResult) []byte {
	b = append(b, `{"check_id":`...)
	b = appendString(b, c.CheckID)
	b = append(b, `,"subject":`...)
	b = appendString(b, c.Subject)
	b = append(b, `,"sector":`...)
	b = appendString(b, c.Sector)
	b = append(b, `,"decision":`...)
	b = appendString(b, c.Decision)
	b = append(b, `,"reasons":[],"policy":`...)
	b = appendString(b, c.Policy)
	b = append(b, `,"at":"`...)
	b = c.At.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","log_position":`...)
	b = strconv.AppendInt(b, c.LogPosition, 10)
	if c.CheckpointSize != 0 {
		b = append(b, `,"checkpoint_size":`...)
		b = strconv.AppendInt(b, c.CheckpointSize, 10)
	}
	return append(b, "}\n"...)
}

// appendString appends s as a JSON string; anything but printable ASCII
// without quotes, backslashes or HTML-special characters goes through
// encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plainAllow reports whether a result can be written by appendAllow.
func plainAllow(c *CheckResult) bool {
	return len(c.Params) == 0 && len(c.Measures) == 0 && len(c.Grants) == 0 && len(c.Reasons) == 0 && c.Contest == ""
}
