package storecore

import (
	"fmt"
	"time"

	"credo"
)

// SubjectSet collects the subjects a transaction touches, with the first
// and last sequence numbers it gave them, in order of first appearance:
// the rows of the subjects projection it writes.
type SubjectSet struct {
	idx  map[string]int
	List []SubjectRow
}

// SubjectRow is one subject of a SubjectSet.
type SubjectRow struct {
	ID          string
	Kind        string
	First, Last int64
}

// NewSubjectSet returns an empty set.
func NewSubjectSet() *SubjectSet { return &SubjectSet{idx: map[string]int{}} }

// Add notes that event seq concerns subject id; kind is "person" or "org"
// if the event says so (links), "" to derive it from the identifier.
func (s *SubjectSet) Add(id string, seq int64, kind string) {
	if i, ok := s.idx[id]; ok {
		s.List[i].Last = seq
		if s.List[i].Kind == "unknown" && kind != "" {
			s.List[i].Kind = kind
		}
		return
	}
	if k := SubjectKind(id); k != "unknown" || kind == "" {
		kind = k
	}
	s.idx[id] = len(s.List)
	s.List = append(s.List, SubjectRow{ID: id, Kind: kind, First: seq, Last: seq})
}

// Conflict is the error of store op (e.g. "sqlite.FileRecords") for r
// contradicting the stored (or, if inCall, earlier in the same call)
// record o with the same identity.
func Conflict(op string, r, o *credo.Record, inCall bool) error {
	what := fmt.Sprintf("record %d filed at %s", o.ID, o.FiledAt.UTC().Format(time.RFC3339))
	if inCall {
		what = "an earlier record of the same call"
	}
	return &credo.Error{
		Code: credo.ECONFLICT,
		Op:   op,
		Message: fmt.Sprintf("record (authority %s, case %s) conflicts with %s: %s differs",
			r.Authority, r.CaseRef, what, DifferingField(r, o)),
	}
}
