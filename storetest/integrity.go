package storetest

import (
	"strings"
	"testing"

	"credo"
)

// TamperFunc alters a store's storage behind its back as the tampering's
// name says (see Tamperings and ProjectionTamperings) and returns the
// store to go on with: the same one, or the storage opened again.
type TamperFunc func(t *testing.T, s credo.Store, name string) credo.Store

// AppendTamperings are the tamperings of Tamperings after which the head
// the writer recorded and the events of the log disagree: a writer must
// refuse to append until an operator resolves it (issue 15, item 5),
// rather than number new events from the surviving end and hide the gap.
var AppendTamperings = []string{"delete the last event", "insert an event"}

// RunTamperAppend checks that after each of AppendTamperings both write
// paths (FileRecords and Append) refuse with an error that says the log
// was altered, and that Verify still reports the damage afterwards.
func RunTamperAppend(t *testing.T, open func(t *testing.T) credo.Store, tamper TamperFunc) {
	for _, name := range AppendTamperings {
		var want Tampering
		for _, tt := range Tamperings {
			if tt.Name == name {
				want = tt
			}
		}
		t.Run(name, func(t *testing.T) {
			s := open(t)
			res := fileN(t, s, 0, TamperLogLen)
			s = tamper(t, s, name)
			_, err := s.FileRecords(ctx, []*credo.Record{NewRecord("court.test", 1000, 1000)})
			if err == nil || !strings.Contains(err.Error(), "altered") {
				t.Errorf("FileRecords after %q: error %v, want a refusal saying the log was altered", name, err)
			}
			_, err = s.Append(ctx, []*credo.Event{{Type: credo.EventRecordFulfilled, Actor: "court.test",
				Change: &credo.RecordChange{RecordID: res[3].Record.ID, At: t0}}})
			if err == nil || !strings.Contains(err.Error(), "altered") {
				t.Errorf("Append after %q: error %v, want a refusal saying the log was altered", name, err)
			}
			v, err := s.Verify(ctx)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if v.OK || v.FirstBad != want.FirstBad || v.Problem != want.Problem {
				t.Errorf("Verify after refused writes = OK %v, first bad %d, %q; want first bad %d, %q", v.OK, v.FirstBad, v.Problem, want.FirstBad, want.Problem)
			}
		})
	}
}
