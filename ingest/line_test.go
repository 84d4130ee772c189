package ingest_test

import (
	"bytes"
	"testing"
	"time"

	"credo"
	"credo/ingest"
)

// TestLineReadsBack: a record written by Line reads back as the same
// record, with and without its optional fields.
func TestLineReadsBack(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	full := &credo.Record{Subject: "110105199003074578", Rule: "TAX_ARREARS", Authority: "tax.beijing", CaseRef: "(2025)税-7",
		DecidedAt: time.Date(2025, 3, 1, 9, 30, 0, 123000000, cst), NotifiedAt: time.Date(2025, 3, 2, 0, 0, 0, 0, cst),
		EvidenceSHA256: "96d8c71d132fa191bfb7d4e5127f2282fd996c8ab045f1f35c466c24f96cfc52", EvidenceURI: "https://evidence.example/7",
		SubjectName: "王芳", Quantity: 2.5}
	bare := &credo.Record{Subject: "91110108MA0003B13Q", Rule: "JUDGMENT_DEFAULT", Authority: "court.test", CaseRef: "B-1",
		DecidedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), EvidenceSHA256: "96d8c71d132fa191bfb7d4e5127f2282fd996c8ab045f1f35c466c24f96cfc52"}
	for _, want := range []*credo.Record{full, bare} {
		line, err := ingest.AppendNDJSON(nil, want)
		if err != nil {
			t.Fatal(err)
		}
		rd := ingest.NewReader("x", bytes.NewReader(line), ingest.NDJSON, time.UTC)
		l, more := rd.Next()
		if !more || l.Err != nil {
			t.Fatalf("%s: %+v", line, l.Err)
		}
		if !l.Record.SameFiling(want) {
			t.Errorf("%s reads back as %+v, want %+v", line, l.Record, want)
		}
	}
}
