package credo

import (
	"context"
	"time"
)

// The services: what a registry does for the people who use it, as
// interfaces, in the manner of the root package of a layered Go service
// (domain types and service interfaces at the root, one implementation per
// dependency below it). Two packages implement every one of them:
//
//   - registry.Services, over a registry opened on a local store (the
//     registry's own methods keep their explicit actor arguments for the
//     HTTP handlers and the portal; Services takes the actor from the
//     context, see WithActor);
//   - http.Client, over the HTTP API of a running server, where the bearer
//     token is the actor.
//
// Each implementation holds a compile-time proof (var _ credo.CheckService
// = ...). The command line picks one implementation when it starts (--db or
// --postgres: the registry; --server: the client) and runs every command
// through the same code whichever it picked.
//
// The decision, a subject's state and the parsed policy are the types of
// packages engine and policy, which import this one; the services that
// return them take those types as type parameters, so that this package
// still imports nothing of the project: D is engine.Decision, S is
// *engine.State and P is *policy.Policy in both implementations.

// CheckQuery is one check: may Subject use Sector? At is the instant the
// answer is about and Known the instant whose knowledge is used (zero: now;
// a server answers checks for now only). Lang is the language of the
// policy's texts in the answer ("": the policy's first language).
type CheckQuery struct {
	Subject, Sector string
	At, Known       time.Time
	Lang            string
}

// CheckService answers checks.
type CheckService[D any] interface {
	// Answer decides a check: allow, limit or deny, with the reasons.
	Answer(ctx context.Context, q CheckQuery) (D, error)
}

// IssuedNotice is a notice as the subject received it: the notice and the
// event that issued it (whose sequence number is the idempotency id of its
// webhook deliveries).
type IssuedNotice struct {
	Seq    int64     `json:"seq"`
	Issued time.Time `json:"issued"`
	Notice *Notice   `json:"notice"`
}

// SubjectService reads a subject's file.
type SubjectService[S any] interface {
	// State returns the subject's state at instant at as known at known
	// (zero values: now).
	State(ctx context.Context, subject string, at, known time.Time) (S, error)
	// Notices returns the notices issued to the subject, oldest first.
	Notices(ctx context.Context, subject string) ([]IssuedNotice, error)
}

// PolicyService reads the published policies.
type PolicyService[P any] interface {
	// Policy returns the policy in force now.
	Policy(ctx context.Context) (P, error)
	// Policies lists every published version (their Source may be
	// empty), in publication order.
	Policies(ctx context.Context) ([]PolicyVersion, error)
}

// BatchFiled is the outcome of filing a batch of records one by one: how
// many were filed, how many were already present, and why each refused
// record was refused (Refused has one entry per record of the batch, nil
// for the records filed or present).
type BatchFiled struct {
	Filed, Present int
	Refused        []error
}

// RecordService files records and changes them.
type RecordService interface {
	// FileEach validates and files each record of a batch: the valid ones
	// are filed (or found present), the others refused with their error.
	// The error is a failure of the whole call: what was filed before it
	// stays filed, and filing again is safe (filing is idempotent).
	FileEach(ctx context.Context, recs []*Record) (*BatchFiled, error)
	// Change revokes a record (EventRecordRevoked) or records the
	// fulfilment of its obligation (EventRecordFulfilled) from c.At (zero:
	// now), as the actor of the context.
	Change(ctx context.Context, typ EventType, c RecordChange) (*Event, error)
}

// LinkResult is the outcome of adding or ending a link.
type LinkResult struct {
	Link    *Link `json:"link"`
	Created bool  `json:"created"` // false: the same link was already filed, nothing was appended
}

// LinkService keeps the links between organisations and the persons who
// answer for them.
type LinkService interface {
	// AddLink files a link, as the actor of the context.
	AddLink(ctx context.Context, l Link) (*LinkResult, error)
	// EndLink ends the open link at l.Until.
	EndLink(ctx context.Context, l Link) (*LinkResult, error)
}

// DisputeRequest is a subject's objection to a record (or appeal).
type DisputeRequest struct {
	RecordID       int64  `json:"record_id"`
	Grounds        string `json:"grounds"`
	EvidenceSHA256 string `json:"evidence_sha256,omitempty"`
	Appeal         bool   `json:"appeal,omitempty"`
	// NewInformation: the subject brings information the authority did
	// not have (extends the review where the procedure says so).
	NewInformation bool `json:"new_information,omitempty"`
}

// RepairRequest is a subject's application for credit repair of a record.
type RepairRequest struct {
	RecordID  int64  `json:"record_id"`
	Statement string `json:"statement"`
	// Commitment must be true: the public credit commitment.
	Commitment bool `json:"commitment"`
}

// DueProcessService runs disputes and credit repair. The lists take a
// state (open, decided or all; "" for open), the authority that must
// decide ("" for any) and a subject ("" for any).
type DueProcessService interface {
	OpenDispute(ctx context.Context, q DisputeRequest) (*DisputeCase, error)
	// DecideDisputeOn decides a dispute (upheld, corrected or revoked), as
	// the actor of the context, with the decision taken at at (zero: now).
	DecideDisputeOn(ctx context.Context, id int64, outcome, reason string, at time.Time) (*DisputeCase, error)
	Disputes(ctx context.Context, state, authority, subject string) ([]DisputeCase, error)
	ApplyRepair(ctx context.Context, q RepairRequest) (*RepairCase, error)
	// DecideRepairOn approves or refuses a repair application, like
	// DecideDisputeOn.
	DecideRepairOn(ctx context.Context, id int64, approve bool, reason string, at time.Time) (*RepairCase, error)
	Repairs(ctx context.Context, state, authority, subject string) ([]RepairCase, error)
}

// actorKey is the context key of the actor.
type actorKey struct{}

// WithActor returns a context in which a service acts as actor: an
// authority id, or RoleAdmin for the operator. Only a service over a local
// registry honours it (by default it acts as the operator); a service over
// the API acts as its token, and refuses a context with an actor.
func WithActor(ctx context.Context, actor string) context.Context {
	if actor == "" {
		return ctx
	}
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor WithActor put in the context, "" if none.
func ActorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}
