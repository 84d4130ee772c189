package credo

import (
	"bytes"
	"time"
)

// Record is the immutable fact an authority filed about a subject: that
// something happened under a rule of the policy, decided on a date, backed by
// evidence. Its life (revoked, fulfilled, repaired, disputed) is told by later
// events, never by editing it.
type Record struct {
	ID             int64     `json:"id"`        // the sequence number of the event that filed it
	Subject        string    `json:"subject"`   // canonical subject identifier
	Rule           string    `json:"rule"`      // rule code in the policy
	Authority      string    `json:"authority"` // filing authority id
	CaseRef        string    `json:"case_ref"`  // the authority's case reference; with Authority, the record's identity
	DecidedAt      time.Time `json:"decided_at"`
	NotifiedAt     time.Time `json:"notified_at,omitzero"` // when the authority served notice, if it did
	Quantity       float64   `json:"quantity,omitempty"`   // units for per-unit rules (hours, months...)
	EvidenceSHA256 string    `json:"evidence_sha256"`
	EvidenceURI    string    `json:"evidence_uri,omitempty"`
	SubjectName    string    `json:"subject_name,omitempty"`
	// Kind is "person" or "org" when the filer says which kind of subject
	// the identifier names: needed for 18 digits that read both as an ID
	// card number and as a credit code (else the rule's subject kind, if
	// it has one, decides). Filing folds it into the canonical Subject and
	// clears it: it is never stored.
	Kind    string    `json:"kind,omitempty"`
	FiledAt time.Time `json:"filed_at"` // transaction time: when Credo recorded it
	// Sealed holds the record's personal fields (case reference, evidence
	// URI, subject name) encrypted under the subject's data key in a
	// sealed registry (package seal); never set on records callers see.
	Sealed []byte `json:"sealed,omitempty"`
}

// SameFiling reports whether r and o describe the same filing, ignoring the
// identifiers and times Credo assigns. Re-filing the same record is a no-op;
// a different record under the same (authority, case reference) a conflict.
func (r *Record) SameFiling(o *Record) bool {
	return r.Subject == o.Subject && r.Rule == o.Rule && r.Authority == o.Authority &&
		r.CaseRef == o.CaseRef && r.DecidedAt.Equal(o.DecidedAt) && r.NotifiedAt.Equal(o.NotifiedAt) &&
		r.Quantity == o.Quantity && r.EvidenceSHA256 == o.EvidenceSHA256 &&
		r.EvidenceURI == o.EvidenceURI && r.SubjectName == o.SubjectName && bytes.Equal(r.Sealed, o.Sealed)
}
