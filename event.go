package credo

import "time"

// EventType names a kind of event in the log.
type EventType string

// The events of the log. Every change to the registry is one of these.
const (
	EventRecordFiled      EventType = "record.filed"
	EventRecordRevoked    EventType = "record.revoked"
	EventRecordFulfilled  EventType = "record.fulfilled"
	EventRepairApproved   EventType = "repair.approved"
	EventDisputeOpened    EventType = "dispute.opened"
	EventDisputeDecided   EventType = "dispute.decided"
	EventConsentGiven     EventType = "consent.given"
	EventConsentWithdrawn EventType = "consent.withdrawn"
	EventLinkAdded        EventType = "link.added"
	EventLinkRemoved      EventType = "link.removed"
	EventPolicyPublished  EventType = "policy.published"
)

// Event is one entry of the append-only, hash-chained event log. Exactly one
// of the payload pointers is set, matching Type. Recorded is transaction
// time: when Credo learned of it. Valid times live in the payloads.
type Event struct {
	Seq      int64     `json:"seq"`
	Type     EventType `json:"type"`
	Subject  string    `json:"subject,omitempty"` // the subject the event concerns; "" for policy events
	Recorded time.Time `json:"recorded"`
	Actor    string    `json:"actor,omitempty"` // who caused it: an authority id, "subject", "admin", ...

	Record   *Record          `json:"record,omitempty"`
	Change   *RecordChange    `json:"change,omitempty"`  // revoked, fulfilled, repair approved
	Dispute  *Dispute         `json:"dispute,omitempty"` // dispute opened
	Decision *DisputeDecision `json:"decision,omitempty"`
	Consent  *Consent         `json:"consent,omitempty"`
	Link     *Link            `json:"link,omitempty"`
	Policy   *PolicyVersion   `json:"policy,omitempty"`

	PrevHash string `json:"prev_hash"` // hex SHA-256 of the previous event; "" for the first
	Hash     string `json:"hash"`      // hex SHA-256 of this event's canonical encoding
}

// RecordChange ends (part of) a record's effects from an instant: a
// revocation, a fulfilment of the obligation, or an approved credit repair.
type RecordChange struct {
	RecordID int64     `json:"record_id"`
	At       time.Time `json:"at"` // valid time from which it takes effect
	Reason   string    `json:"reason,omitempty"`
	// VoidAbInitio marks a revocation as a correction: the record is treated
	// as never having had effect (for queries that know of the revocation).
	VoidAbInitio bool `json:"void_ab_initio,omitempty"`
}

// Dispute is a subject's objection to a record (or an appeal against the
// decision on an earlier objection).
type Dispute struct {
	ID             int64     `json:"id"` // the sequence number of the event that opened it
	RecordID       int64     `json:"record_id"`
	OpenedAt       time.Time `json:"opened_at"`
	Appeal         bool      `json:"appeal,omitempty"` // an appeal against an upheld objection
	Grounds        string    `json:"grounds"`
	EvidenceSHA256 string    `json:"evidence_sha256,omitempty"`
}

// Dispute outcomes.
const (
	OutcomeUpheld    = "upheld"    // the record stands
	OutcomeCorrected = "corrected" // the record is revoked (and may be re-filed)
	OutcomeRevoked   = "revoked"   // the record is revoked
)

// DisputeDecision closes a dispute.
type DisputeDecision struct {
	DisputeID int64     `json:"dispute_id"`
	RecordID  int64     `json:"record_id"`
	At        time.Time `json:"at"`
	Outcome   string    `json:"outcome"`
	Reason    string    `json:"reason,omitempty"`
}

// Consent is a subject's opt-in (or its withdrawal) to be scored in a scheme.
type Consent struct {
	Scheme string    `json:"scheme"`
	At     time.Time `json:"at"`
	Given  bool      `json:"given"`
}

// Link ties a responsible person to an organisation (legal representative,
// principal, actual controller) over a period.
type Link struct {
	Org    string    `json:"org"`
	Person string    `json:"person"`
	Role   string    `json:"role"`
	From   time.Time `json:"from"`
	Until  time.Time `json:"until,omitzero"`
}

// The roles a responsible person can have for an organisation.
const (
	RoleLegalRepresentative = "legal_representative"
	RolePrincipal           = "principal"
	RoleActualController    = "actual_controller"
	RoleDirectlyResponsible = "directly_responsible"
)

// PolicyVersion is a published policy document. Its content hash is its
// identity; versions are never overwritten.
type PolicyVersion struct {
	Hash      string    `json:"hash"` // hex SHA-256 of Source
	Name      string    `json:"name"`
	Effective time.Time `json:"effective"`
	Published time.Time `json:"published"`
	Source    []byte    `json:"source"`
}
