package storetest

import (
	"testing"

	"credo"
)

// Tampering is one way of altering a store's log behind its back (with
// direct access to its storage) and what Verify must then report. The
// store package does the altering, in its own SQL, by name.
type Tampering struct {
	Name     string
	FirstBad int64
	Problem  string
}

// TamperLogLen is the number of records in the log RunTamper tampers
// with (events 1 to TamperLogLen).
const TamperLogLen = 30

// Tamperings are the alterations RunTamper makes, on a log of
// TamperLogLen record.filed events:
//
//   - "alter body": replace JUDGMENT_DEFAULT with JUDGMENT_DEFAULX in event 17's body;
//   - "alter body and rehash": the same in event 19, and set its hash to the new body's;
//   - "swap two events": exchange the sequence numbers of events 5 and 6;
//   - "delete an event", "delete the first event", "delete the last event": delete event 18, 1, 30;
//   - "change a hash": set event 20's hash to credo.HashBytes([]byte("forged"));
//   - "change the last hash and the head": the same for event 30 and the recorded head;
//   - "change a prev_hash column": set event 12's prev_hash column to that hash;
//   - "change a subject column": set event 9's subject column to 'someone else';
//   - "insert an event": insert a copy of event 30's row as event 31.
var Tamperings = []Tampering{
	{"alter body", 17, "event 17: hash does not match its content"},
	{"alter body and rehash", 20, "event 20: prev_hash does not match event 19"},
	{"swap two events", 5, "event 5: content is event 6"},
	{"delete an event", 18, "event 18: missing (sequence jumps from 17 to 19)"},
	{"delete the first event", 1, "event 1: missing (sequence jumps from 0 to 2)"},
	{"delete the last event", 30, "event 30: missing (the log ends at 29, its recorded head is 30)"},
	{"change a hash", 20, "event 20: hash does not match its content"},
	{"change the last hash and the head", 30, "event 30: hash does not match its content"},
	{"change a prev_hash column", 12, "event 12: content does not match its prev_hash column"},
	{"change a subject column", 9, "event 9: content does not match its type and subject columns"},
	{"insert an event", 31, "event 31: content is event 30"},
}

// RunTamper checks that Verify reports the first event that no longer
// holds after each of Tamperings. For each, open returns a new, empty
// store; RunTamper files TamperLogLen records and checks that the log
// verifies; then tamper alters the storage as the tampering's name says
// (failing the test for a name it does not know) and returns the store to
// verify: the same one, or the storage opened again.
func RunTamper(t *testing.T, open func(t *testing.T) credo.Store, tamper func(t *testing.T, s credo.Store, name string) credo.Store) {
	for _, tt := range Tamperings {
		t.Run(tt.Name, func(t *testing.T) {
			s := open(t)
			fileN(t, s, 0, TamperLogLen)
			if res, err := s.Verify(ctx); err != nil || !res.OK || res.Count != TamperLogLen {
				t.Fatalf("Verify before tampering = %+v, %v", res, err)
			}
			s = tamper(t, s, tt.Name)
			res, err := s.Verify(ctx)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.OK || res.FirstBad != tt.FirstBad || res.Problem != tt.Problem {
				t.Errorf("Verify = OK %v, first bad %d, %q; want first bad %d, %q", res.OK, res.FirstBad, res.Problem, tt.FirstBad, tt.Problem)
			}
		})
	}
}
