package credo

import "context"

// Store is the durable system of record: the append-only, hash-chained
// event log and its projections (subjects, records with their status,
// disputes, policy versions), written in the same transaction. Every
// implementation must pass the storetest conformance suite.
//
// The store does not interpret the policy: callers (the registry) check that
// a record may be filed before they file it.
type Store interface {
	// FileRecords files records in one atomic transaction, in order. For each
	// it returns the stored record and whether it was created: re-filing an
	// identical record (same authority and case reference, same content)
	// returns the original; a different record under the same key fails the
	// whole call with ECONFLICT naming both. ID is assigned, and FiledAt
	// unless the caller set it (historical imports).
	FileRecords(ctx context.Context, rs []*Record) ([]FileResult, error)

	// Append appends non-record events (changes, disputes, consents, links,
	// policy publications) atomically, assigning Seq, Recorded (if zero),
	// PrevHash and Hash. It returns the stored events. It also fills in what
	// the log can tell: an empty Subject from the record (changes, disputes)
	// or the organisation (links) — a different subject is EINVALID;
	// Decision.RecordID and Policy.Published when empty. Deciding a dispute
	// twice is ECONFLICT; publishing a policy whose hash is already published
	// returns the original event and appends nothing.
	Append(ctx context.Context, evs []*Event) ([]*Event, error)

	// Record returns a record by id (ENOTFOUND if absent).
	Record(ctx context.Context, id int64) (*Record, error)

	// RecordByCase returns a record by its identity (ENOTFOUND if absent).
	RecordByCase(ctx context.Context, authority, caseRef string) (*Record, error)

	// SubjectEvents returns, in log order, every event that concerns the
	// subject: its own, and links that name it as a responsible person.
	SubjectEvents(ctx context.Context, subject string) ([]Event, error)

	// LinkedOrgs returns the organisations a person has ever been linked to.
	LinkedOrgs(ctx context.Context, person string) ([]string, error)

	// LinkedPersons returns the persons ever linked to an organisation.
	LinkedPersons(ctx context.Context, org string) ([]string, error)

	// Events returns up to limit events with Seq > after, in order.
	Events(ctx context.Context, after int64, limit int) ([]Event, error)

	// Subjects calls fn for every subject that has events, in no set order.
	Subjects(ctx context.Context, fn func(subject string) error) error

	// Policies returns every published policy version, oldest first.
	Policies(ctx context.Context) ([]PolicyVersion, error)

	// Head returns the sequence number and hash of the last event.
	Head(ctx context.Context) (seq int64, hash string, err error)

	// Verify re-walks the log and checks every event against its hash and
	// its predecessor.
	Verify(ctx context.Context) (VerifyResult, error)

	Close() error
}

// FileResult is the outcome of filing one record.
type FileResult struct {
	Record  *Record
	Created bool
}

// VerifyResult is the outcome of re-walking the event log.
type VerifyResult struct {
	OK       bool   `json:"ok"`
	Count    int64  `json:"count"`
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	// FirstBad is the sequence number (or, for a missing event, the position
	// where one was expected) of the first event that does not match.
	FirstBad int64  `json:"first_bad,omitempty"`
	Problem  string `json:"problem,omitempty"`
}
