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

// ProjectionTampering is one way of altering a projection table behind
// the store's back, the table VerifyProjections must then name, and
// whether the cheap check (CheckProjections, which counts rows) must
// notice it too. SQL is the alteration, in the SQL both stores run.
type ProjectionTampering struct {
	Name  string
	Table string
	Cheap bool
	SQL   string
}

// ProjectionTamperings are the alterations RunTamperProjections makes, on
// a log of TamperLogLen record.filed events (record i about person i):
//
//   - "delete a subject index row": delete the subject_events row of event 17;
//   - "move a subject index row": give event 17's subject_events row event 18's subject;
//   - "delete a subject": delete the subjects row of event 9's subject;
//   - "revoke a record in its projection": set record 5's status to revoked, revoked_at to a time;
//   - "delete a record row": delete record 23's row.
var ProjectionTamperings = []ProjectionTampering{
	{"delete a subject index row", "subject_events", true, "DELETE FROM subject_events WHERE seq = 17"},
	{"move a subject index row", "subject_events", false, "UPDATE subject_events SET subject = (SELECT subject FROM subject_events WHERE seq = 18) WHERE seq = 17"},
	{"delete a subject", "subjects", true, "DELETE FROM subjects WHERE id = (SELECT subject FROM subject_events WHERE seq = 9)"},
	{"revoke a record in its projection", "records.status", false, "UPDATE records SET status = 'revoked', revoked_at = '2025-06-01T02:00:00.000000000Z' WHERE id = 5"},
	{"delete a record row", "records", true, "DELETE FROM records WHERE id = 23"},
}

// RunTamperProjections checks that VerifyProjections names the table
// each of ProjectionTamperings altered (issue 15, item 4), that the cheap
// check notices those that change a row count, and that both pass before.
func RunTamperProjections(t *testing.T, open func(t *testing.T) credo.Store, tamper TamperFunc) {
	for _, tt := range ProjectionTamperings {
		t.Run(tt.Name, func(t *testing.T) {
			s := open(t)
			fileN(t, s, 0, TamperLogLen)
			pv, ok := s.(credo.ProjectionVerifier)
			if !ok {
				t.Fatalf("%T is not a credo.ProjectionVerifier", s)
			}
			if res, err := pv.VerifyProjections(ctx); err != nil || !res.OK || res.Events != TamperLogLen {
				t.Fatalf("VerifyProjections before tampering = %+v, %v", res, err)
			}
			if res, err := pv.CheckProjections(ctx); err != nil || !res.OK {
				t.Fatalf("CheckProjections before tampering = %+v, %v", res, err)
			}
			s = tamper(t, s, tt.Name)
			pv = s.(credo.ProjectionVerifier)
			if res, err := s.Verify(ctx); err != nil || !res.OK {
				t.Errorf("Verify of the log = %+v, %v; the log itself is intact", res, err)
			}
			res, err := pv.VerifyProjections(ctx)
			if err != nil {
				t.Fatalf("VerifyProjections: %v", err)
			}
			if res.OK || len(res.Problems) != 1 || res.Problems[0].Table != tt.Table {
				t.Errorf("VerifyProjections = %+v; want one problem, in %s", res, tt.Table)
			}
			cheap, err := pv.CheckProjections(ctx)
			if err != nil {
				t.Fatalf("CheckProjections: %v", err)
			}
			if tt.Cheap && cheap.OK {
				t.Errorf("CheckProjections = %+v; want it to notice %q", cheap, tt.Name)
			}
		})
	}
}

// verifiesProjections checks, when s can, that its projections equal a
// replay of its log by both checks: the conformance tests' workloads
// must leave no doubt behind.
func verifiesProjections(t *testing.T, s credo.Store) {
	t.Helper()
	pv, ok := s.(credo.ProjectionVerifier)
	if !ok {
		return
	}
	if res, err := pv.VerifyProjections(ctx); err != nil || !res.OK {
		t.Errorf("VerifyProjections after the test = %+v, %v", res, err)
	}
	if res, err := pv.CheckProjections(ctx); err != nil || !res.OK {
		t.Errorf("CheckProjections after the test = %+v, %v", res, err)
	}
}
