package credo

import (
	"context"
	"time"
)

// RepairApplication is a subject's application for credit repair: to end a
// record's effects early, once the rule's minimum period has passed, with
// a statement of what was corrected and a public credit commitment (NDRC
// credit repair measures, 2026).
type RepairApplication struct {
	ID        int64     `json:"id"` // the sequence number of the event that filed it
	RecordID  int64     `json:"record_id"`
	AppliedAt time.Time `json:"applied_at"`
	Statement string    `json:"statement"`
	// Commitment is the public credit commitment the applicant made.
	Commitment bool `json:"commitment"`
}

// RepairRefusal closes a repair application without repair. (An approval
// is a repair.approved RecordChange naming the application.)
type RepairRefusal struct {
	ApplicationID int64     `json:"application_id"`
	RecordID      int64     `json:"record_id"`
	At            time.Time `json:"at"`
	Reason        string    `json:"reason"`
}

// Repair application outcomes.
const (
	RepairApproved = "approved"
	RepairRefused  = "refused"
)

// The states a dispute or a repair application is in, for filters.
const (
	StateOpen    = "open"    // waiting for a decision
	StateDecided = "decided" // decided
)

// DueProcessStore is the part of a store that answers the due-process
// queues: disputes and repair applications as projected from the log, in
// the same transaction as the events. It does not interpret the policy:
// deadlines and who must decide are the registry's business.
type DueProcessStore interface {
	// Disputes returns the disputes that match the filter, oldest first.
	Disputes(ctx context.Context, f DisputeFilter) ([]DisputeView, error)
	// Dispute returns one dispute (ENOTFOUND if absent).
	Dispute(ctx context.Context, id int64) (*DisputeView, error)
	// RepairApplications returns the applications that match the filter,
	// oldest first.
	RepairApplications(ctx context.Context, f RepairFilter) ([]RepairView, error)
	// RepairApplication returns one application (ENOTFOUND if absent).
	RepairApplication(ctx context.Context, id int64) (*RepairView, error)
}

// DisputeFilter selects disputes. Zero fields select everything.
type DisputeFilter struct {
	State string // StateOpen, StateDecided or "" for both
	// Authorities selects disputes about records filed by any of these
	// authorities.
	Authorities []string
	Appeal      *bool // only appeals (true) or only objections (false)
	Subject     string
	RecordID    int64
	Limit       int // at most this many (0: no limit)
}

// DisputeView is a dispute as the store knows it: the objection, the
// record it concerns and, once decided, the decision.
type DisputeView struct {
	Dispute
	Subject   string `json:"subject"`
	Authority string `json:"authority"` // the authority that filed the record
	Rule      string `json:"rule"`
	CaseRef   string `json:"case_ref"`
	OpenedBy  string `json:"opened_by,omitempty"` // the actor of the opening event
	State     string `json:"state"`               // StateOpen or StateDecided
	// The decision, once given.
	DecidedAt time.Time `json:"decided_at,omitzero"`
	Outcome   string    `json:"outcome,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	DecidedBy string    `json:"decided_by,omitempty"`
}

// RepairFilter selects repair applications. Zero fields select everything.
type RepairFilter struct {
	State       string   // StateOpen, StateDecided or "" for both
	Authorities []string // applications about records filed by these
	Subject     string
	RecordID    int64
	Limit       int
}

// RepairView is a repair application as the store knows it, with the
// record it concerns and, once decided, the decision.
type RepairView struct {
	RepairApplication
	Subject   string    `json:"subject"`
	Authority string    `json:"authority"`
	Rule      string    `json:"rule"`
	CaseRef   string    `json:"case_ref"`
	AppliedBy string    `json:"applied_by,omitempty"`
	State     string    `json:"state"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	Outcome   string    `json:"outcome,omitempty"` // RepairApproved or RepairRefused
	Reason    string    `json:"reason,omitempty"`
	DecidedBy string    `json:"decided_by,omitempty"`
}

// DisputeCase is a dispute with what the policy in force makes of it: who
// must decide it, by when, and what follows from its decision.
type DisputeCase struct {
	DisputeView
	// Decider is the authority that must decide: the one that filed the
	// record for an objection, its appellate authority for an appeal ("" if
	// the policy names none: only an admin can decide then).
	Decider string `json:"decider"`
	// Procedure names the procedure profile that governs the record
	// ("default" for procedures.dispute).
	Procedure string `json:"procedure"`
	// OverdueRule is what happens to the record's effects once the
	// deadline passes undecided: "suspend" or "in_force".
	OverdueRule string `json:"overdue_rule"`
	// Deadline is when the decision is due (review, or appeal decision,
	// plus the extension for new information).
	Deadline time.Time `json:"deadline"`
	// Overdue: open past its deadline.
	Overdue bool `json:"overdue"`
	// DaysLeft is the number of calendar days, in the policy's time zone,
	// from today to the deadline: negative once overdue. Open disputes only.
	DaysLeft int `json:"days_left"`
	// DecidedLate: decided after its deadline.
	DecidedLate bool `json:"decided_late,omitempty"`
	// CorrectBy is when a correction ordered by the decision is due.
	CorrectBy time.Time `json:"correct_by,omitzero"`
	// AppealBy is the last instant an upheld objection may be appealed, to
	// AppealTo.
	AppealBy time.Time `json:"appeal_by,omitzero"`
	AppealTo string    `json:"appeal_to,omitempty"`
}

// RepairCase is a repair application with its decider and deadline.
type RepairCase struct {
	RepairView
	// Decider is the authority that must decide: the one that filed the
	// record.
	Decider  string    `json:"decider"`
	Deadline time.Time `json:"deadline"`
	Overdue  bool      `json:"overdue"`
	DaysLeft int       `json:"days_left"`
	// DecidedLate: decided after its deadline.
	DecidedLate bool `json:"decided_late,omitempty"`
}
