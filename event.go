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
	EventRepairApplied    EventType = "repair.applied" // a credit-repair application (RepairApplication)
	EventRepairRefused    EventType = "repair.refused" // an application refused (RepairRefusal)
	EventDisputeOpened    EventType = "dispute.opened"
	EventDisputeDecided   EventType = "dispute.decided"
	EventConsentGiven     EventType = "consent.given"
	EventConsentWithdrawn EventType = "consent.withdrawn"
	EventLinkAdded        EventType = "link.added"
	EventLinkRemoved      EventType = "link.removed"
	EventPolicyPublished  EventType = "policy.published"
	EventNoticeIssued     EventType = "notice.issued"
	// EventLogMigrated ends a conversion of the log to a new encoding
	// (credo migrate): it records the head of the log as it was.
	EventLogMigrated EventType = "log.migrated"
	// EventSubjectErased records that a subject's data key was destroyed
	// (crypto-shredding): the subject's personal data in the log can no
	// longer be read. It carries no personal data (Erasure).
	EventSubjectErased EventType = "subject.erased"
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

	Record    *Record            `json:"record,omitempty"`
	Change    *RecordChange      `json:"change,omitempty"`  // revoked, fulfilled, repair approved
	Dispute   *Dispute           `json:"dispute,omitempty"` // dispute opened
	Decision  *DisputeDecision   `json:"decision,omitempty"`
	Repair    *RepairApplication `json:"repair,omitempty"`  // repair applied for
	Refusal   *RepairRefusal     `json:"refusal,omitempty"` // repair refused
	Consent   *Consent           `json:"consent,omitempty"`
	Link      *Link              `json:"link,omitempty"`
	Policy    *PolicyVersion     `json:"policy,omitempty"`
	Notice    *Notice            `json:"notice,omitempty"`
	Migration *LogMigration      `json:"migration,omitempty"` // log.migrated
	Erasure   *Erasure           `json:"erasure,omitempty"`   // subject.erased

	// Sealed holds the event's personal fields (names, case references,
	// evidence URIs, free text), encrypted under the subject's data key,
	// when the registry is sealed (package seal); the fields themselves
	// are then empty, and subject identifiers are pseudonyms. A record's
	// personal fields are sealed in Record.Sealed instead.
	Sealed []byte `json:"sealed,omitempty"`

	PrevHash string `json:"prev_hash"` // hex SHA-256 of the previous event; "" for the first
	Hash     string `json:"hash"`      // hex SHA-256 of this event's canonical encoding
}

// LogMigration records a conversion of the log to another encoding: every
// event was re-encoded, in order, into a new chain (the same events, seq
// for seq, with new hashes), after the old chain was verified and before
// the new one was. The old head (its seq and hash) is kept here, and the
// hash its last event has in the new chain, so that anyone holding the
// old head (a checkpoint, a receipt, a witness) can tie it to the new log.
type LogMigration struct {
	FromEncoding int    `json:"from_encoding"`
	ToEncoding   int    `json:"to_encoding"`
	OldHeadSeq   int64  `json:"old_head_seq"`
	OldHeadHash  string `json:"old_head_hash"`
	NewHeadHash  string `json:"new_head_hash"` // of event OldHeadSeq, re-encoded
	// NoticesAsFacts is how many notices were converted to their facts
	// (their texts rendered again byte for byte); the others keep their
	// texts.
	NoticesAsFacts int64 `json:"notices_as_facts,omitempty"`
}

// Erasure says why a subject's data key was destroyed: the reason, the
// legal basis, and for an erasure the retention period triggered, the end
// of the subject's last retained item. It names the subject by the
// pseudonym the store knows it by, never by its identifier.
type Erasure struct {
	Reason       string    `json:"reason"`
	LegalBasis   string    `json:"legal_basis"`
	RetentionEnd time.Time `json:"retention_end,omitzero"`
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
	// ApplicationID is the credit-repair application a repair approval
	// decides (0: a repair approved without one).
	ApplicationID int64 `json:"application_id,omitempty"`
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
	// NewInformation: the subject brought information the authority did
	// not have; the review deadline is extended by the procedure's
	// extension (FCRA 15 U.S.C. 1681i(a)(1)(C)).
	NewInformation bool `json:"new_information,omitempty"`
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
	// Authority is the authority whose register states the link (e.g.
	// the market regulator), LegalBasis the provision under which it is
	// recorded, and EvidenceSHA256 the digest of the document showing it.
	// Links filed through the registry (AddLink, EndLink) always carry an
	// authority and a legal basis; older links may not.
	Authority      string `json:"authority,omitempty"`
	LegalBasis     string `json:"legal_basis,omitempty"`
	EvidenceSHA256 string `json:"evidence_sha256,omitempty"`
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

// Notice tells a subject that a record about them was filed and what follows
// from it: what was recorded, by whom, under which rule and legal basis,
// which lists and points follow and from when, how long they last, and how
// and by when to object. Credo issues one notice.issued event per record
// with an effect, right after filing it; the notice is what the subject was
// told, kept in the log as it was served, and delivered through the outbox.
type Notice struct {
	RecordID    int64           `json:"record_id"`
	Subject     string          `json:"subject"`
	SubjectName string          `json:"subject_name,omitempty"`
	Rule        string          `json:"rule"`
	RuleTitle   string          `json:"rule_title,omitempty"`
	Severity    string          `json:"severity,omitempty"`
	Authority   NoticeAuthority `json:"authority"`
	CaseRef     string          `json:"case_ref"`
	DecidedAt   time.Time       `json:"decided_at"`
	LegalBasis  string          `json:"legal_basis"`
	Policy      string          `json:"policy"` // content hash of the policy version the notice was computed under
	// ServedAt is when notice counts as served: when the authority served
	// it (the record's notified_at) or else when Credo filed the record.
	// Notice periods run from it.
	ServedAt time.Time       `json:"served_at"`
	Lists    []NoticeListing `json:"lists,omitempty"`
	Points   []NoticePoints  `json:"points,omitempty"`
	// EffectiveFrom is when the record's first effect takes hold: its
	// earliest listing (after the list's notice period), or the decision
	// date if it only changes points.
	EffectiveFrom time.Time `json:"effective_from"`
	// Lasts is when the record's last effect ends at the latest (its
	// lifetime, or its longest listing); effects may end earlier on
	// fulfilment, repair or revocation.
	Lasts time.Time `json:"lasts"`
	// ObjectUntil is until when the subject may object: at any time while
	// the record has effects.
	ObjectUntil time.Time `json:"object_until"`
	// ReviewWithin is the time the authority has to decide an objection
	// (a policy duration such as "15d"), and AppealTo and AppealWithin
	// where and within what time its decision may be appealed.
	ReviewWithin string    `json:"review_within,omitempty"`
	AppealTo     string    `json:"appeal_to,omitempty"`
	AppealWithin string    `json:"appeal_within,omitempty"`
	RepairFrom   time.Time `json:"repair_from,omitzero"` // first instant credit repair may be applied for
	HowToObject  string    `json:"how_to_object"`
	Minor        bool      `json:"minor,omitempty"` // a minor at the decision date: never listed
	// Party is set on the notice of a person whom a record about an
	// organisation reaches through a link (a legal representative, ...):
	// the person is a party to the record, may object to it, and is told
	// which measures reach them. Lists then names the organisation's
	// listings, and Points is empty (they are the organisation's).
	Party *NoticeParty `json:"party,omitempty"`
	Text  NoticeText   `json:"text"`
	// Template is the version of the template Text was rendered with from
	// the fields above and the policy version named in Policy; TextSHA256
	// holds the hex SHA-256 of each text exactly as sent. A notice with a
	// template is stored as its facts and these digests: its Text is not
	// part of the canonical encoding, and is rendered again, byte for
	// byte, when read. Template 0: the texts are stored as they are.
	Template   int        `json:"template,omitempty"`
	TextSHA256 NoticeText `json:"text_sha256,omitzero"`
}

// NoticeParty says how a record about an organisation reaches a person.
type NoticeParty struct {
	Org      string          `json:"org"`
	OrgName  string          `json:"org_name,omitempty"`
	Role     string          `json:"role"`
	Measures []NoticeMeasure `json:"measures"`
}

// NoticeMeasure is a measure that may reach a person through a link.
type NoticeMeasure struct {
	Measure    string `json:"measure"`
	Title      string `json:"title,omitempty"`
	Sector     string `json:"sector"`
	Effect     string `json:"effect"`
	LegalBasis string `json:"legal_basis,omitempty"`
	// ExemptPrivate: the measure does not restrict spending of the
	// person's own money for private purposes (SPC provisions on
	// restricting high consumption, 2015, art. 3 para. 3).
	ExemptPrivate bool `json:"exempt_private,omitempty"`
}

// NoticeAuthority names the authority that filed a record.
type NoticeAuthority struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// NoticeListing is one list a record puts the subject on.
type NoticeListing struct {
	List       string    `json:"list"`
	Title      string    `json:"title,omitempty"`
	Kind       string    `json:"kind"`
	Public     bool      `json:"public,omitempty"`
	LegalBasis string    `json:"legal_basis,omitempty"`
	From       time.Time `json:"from"`
	Until      time.Time `json:"until"` // the end of the period, or for UntilFulfilled the maximum
	// UntilFulfilled: the listing ends when the obligation is performed,
	// at the latest at Until.
	UntilFulfilled bool `json:"until_fulfilled,omitempty"`
}

// NoticePoints is a record's effect on one points scheme.
type NoticePoints struct {
	Scheme string `json:"scheme"`
	Title  string `json:"title,omitempty"`
	Points int    `json:"points"`
	// Capped: the rule's cap per window may reduce the points actually
	// counted.
	Capped bool `json:"capped,omitempty"`
}

// NoticeText is a notice in plain language.
type NoticeText struct {
	EN string `json:"en"`
	ZH string `json:"zh"`
}
