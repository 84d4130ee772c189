package ingest_test

import (
	"strings"
	"testing"
	"time"

	"credo/ingest"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func readAll(t *testing.T, name, content string) ([]ingest.Line, error) {
	t.Helper()
	f, err := ingest.FormatOf(name)
	if err != nil {
		t.Fatal(err)
	}
	r := ingest.NewReader(name, strings.NewReader(content), f, shanghai)
	var out []ingest.Line
	for {
		l, ok := r.Next()
		if !ok {
			return out, r.Err()
		}
		out = append(out, l)
	}
}

func TestCSV(t *testing.T) {
	lines, err := readAll(t, "a.csv", "\xef\xbb\xbfSubject,rule,authority,case_ref,decided_at,evidence_sha256,quantity,notified_at\n"+
		"11010519491231002X,R,court.x,C1,2024-03-01,abc,,2024-03-05T10:00:00+08:00\n"+
		"\n"+
		`11010519491231002X,R,court.x,"C,2",2024-03-01T09:30:00Z,abc,2.5,`+"\n"+
		"11010519491231002X,R,court.x,C3,2024-02-30,abc,,\n"+
		"11010519491231002X,R,court.x,C4,2024-03-01,abc,many,\n"+
		"11010519491231002X,R,court.x,C5,2024-03-01,abc\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5 (the blank one skipped)", len(lines))
	}
	r := lines[0].Record
	if lines[0].N != 2 || r == nil || r.CaseRef != "C1" || !r.DecidedAt.Equal(time.Date(2024, 3, 1, 0, 0, 0, 0, shanghai)) ||
		!r.NotifiedAt.Equal(time.Date(2024, 3, 5, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("line 2: %+v %v", r, lines[0].Err)
	}
	if r := lines[1].Record; lines[1].N != 4 || r == nil || r.CaseRef != "C,2" || r.Quantity != 2.5 {
		t.Errorf("line 4: %+v %v", r, lines[1].Err)
	}
	for i, want := range []struct {
		line  int
		field string
	}{{5, "decided_at"}, {6, "quantity"}, {7, ""}} {
		l := lines[2+i]
		if l.Err == nil || l.N != want.line || l.Err.Line != want.line || l.Err.Field != want.field {
			t.Errorf("line %d: %+v, want an error on field %q", want.line, l.Err, want.field)
		}
	}
}

func TestCSVHeader(t *testing.T) {
	for name, tc := range map[string]struct{ header, want string }{
		"unknown column":  {"subject,rule,authority,case_ref,decided_at,evidence_sha256,colour", `unknown column "colour"`},
		"missing column":  {"subject,rule,authority,case_ref,decided_at", `no "evidence_sha256" column`},
		"repeated column": {"subject,rule,rule,authority,case_ref,decided_at,evidence_sha256", `column "rule" appears twice`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := readAll(t, "h.csv", tc.header+"\n")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "h.csv:1: ") {
				t.Errorf("err %v, want h.csv:1: ...%s", err, tc.want)
			}
		})
	}
}

func TestNDJSON(t *testing.T) {
	lines, err := readAll(t, "a.ndjson", `{"subject":"S","rule":"R","authority":"A","case_ref":"C","decided_at":"2024-03-01","evidence_sha256":"e","quantity":3}
{"subject":"S","rule":"R","authority":"A","case_ref":"C","decided_at":"2024-03-01","evidence_sha256":"e","colour":"red"}
{"subject":"S","rule":"R","authority":"A","case_ref":5,"decided_at":"2024-03-01","evidence_sha256":"e"}
{"subject":"S","rule":"R"
[1,2]
{"subject":"S","rule":"R","authority":"A","case_ref":"C","decided_at":"2024-03-01","evidence_sha256":"e"} {}
`)
	if err != nil {
		t.Fatal(err)
	}
	if r := lines[0].Record; r == nil || r.Quantity != 3 {
		t.Errorf("line 1: %+v %v", r, lines[0].Err)
	}
	for i, want := range []struct{ field, reason string }{
		{"colour", "unknown field"}, {"case_ref", "must be a string"}, {"", "not a JSON object"}, {"", "not a JSON object"}, {"", "more than one JSON value"},
	} {
		l := lines[1+i]
		if l.Err == nil || l.Err.Line != i+2 || l.Err.Field != want.field || !strings.Contains(l.Err.Reason, want.reason) {
			t.Errorf("line %d: %+v, want field %q reason %q", i+2, l.Err, want.field, want.reason)
		}
	}
}

func TestLongLine(t *testing.T) {
	long := `{"subject":"` + strings.Repeat("x", ingest.MaxLine+10) + `"}`
	lines, err := readAll(t, "l.ndjson", long+"\n"+`{"subject":"S","rule":"R","authority":"A","case_ref":"C","decided_at":"2024-03-01","evidence_sha256":"e"}`+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].Err == nil || !strings.Contains(lines[0].Err.Reason, "longer than") || lines[1].Record == nil || lines[1].N != 2 {
		t.Fatalf("lines: %+v", lines)
	}
}

func FuzzReader(f *testing.F) {
	f.Add("subject,rule,authority,case_ref,decided_at,evidence_sha256\nS,R,A,C,2024-01-01,e\n", true)
	f.Add(`{"subject":"S","rule":"R","authority":"A","case_ref":"C","decided_at":"2024-01-01","evidence_sha256":"e","quantity":1}`+"\n", false)
	f.Fuzz(func(t *testing.T, content string, csv bool) {
		name := "f.ndjson"
		if csv {
			name = "f.csv"
		}
		format, _ := ingest.FormatOf(name)
		r := ingest.NewReader(name, strings.NewReader(content), format, shanghai)
		prev := 0
		for {
			l, ok := r.Next()
			if !ok {
				break
			}
			if l.N <= prev {
				t.Fatalf("line numbers not increasing: %d after %d", l.N, prev)
			}
			prev = l.N
			if (l.Record == nil) == (l.Err == nil) {
				t.Fatalf("line %d: want exactly one of a record and an error", l.N)
			}
			if l.Err != nil && (l.Err.Line != l.N || l.Err.Reason == "") {
				t.Fatalf("line %d: error %+v", l.N, l.Err)
			}
		}
	})
}
