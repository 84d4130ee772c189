package credo

import (
	"context"
	"sort"
	"strings"
)

// ProjectionVerifier is a store that can prove its projections (the
// tables answers are made from: the subject index, subjects, records and
// their status, disputes, repair applications, links, policies, notices)
// equal a replay of its log. Both of Credo's stores are one.
type ProjectionVerifier interface {
	// VerifyProjections replays the whole log, in one read snapshot with
	// the tables, and compares every projection table with the replay.
	VerifyProjections(ctx context.Context) (ProjectionResult, error)
	// CheckProjections is the cheap check a registry runs before it
	// answers: the head agrees with the end of the log, and every
	// projection has the number of rows the log gives (counted from the
	// last check on, which it records). A projection that fails it is
	// not to be answered from.
	CheckProjections(ctx context.Context) (ProjectionResult, error)
}

// ProjectionProblem is a projection table that does not equal the replay
// of the log.
type ProjectionProblem struct {
	Table   string `json:"table"`
	LogRows int64  `json:"log_rows"` // rows the replay of the log gives
	Stored  int64  `json:"stored"`   // rows the table has
	Problem string `json:"problem"`  // what differs, in words
}

// ProjectionResult is the outcome of checking the projections against
// the log.
type ProjectionResult struct {
	OK       bool                `json:"ok"`
	Events   int64               `json:"events"`           // events replayed
	Tables   map[string]int64    `json:"tables,omitempty"` // rows per table, as stored
	Problems []ProjectionProblem `json:"problems,omitempty"`
}

// Summary is the problems in one line.
func (res ProjectionResult) Summary() string {
	var s []string
	for _, p := range res.Problems {
		s = append(s, p.Problem)
	}
	sort.Strings(s)
	return strings.Join(s, "; ")
}
