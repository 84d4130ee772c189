package engine

import (
	"time"

	"credo"
	"credo/ident"
	"credo/policy"
)

// Facts is everything the engine needs about one subject: its identifier
// and the events that concern it (records, their changes, disputes,
// consents, links). For a person, Orgs holds the facts of the organisations
// the person is linked to, so that measures extending to responsible
// persons can be computed.
type Facts struct {
	ID     ident.ID
	Events []credo.Event
	Orgs   []*Facts
}

// Record statuses, as shown to the subject.
const (
	StatusPending   = "pending"   // decided in the future
	StatusActive    = "active"    // counting
	StatusExpired   = "expired"   // its lifetime has ended
	StatusRevoked   = "revoked"   // revoked by the authority or on objection
	StatusFulfilled = "fulfilled" // the obligation was performed
	StatusRepaired  = "repaired"  // credit repair approved
	StatusDisputed  = "disputed"  // an objection is open; effects as the list says
	StatusSuspended = "suspended" // an objection went unanswered past its deadline
	StatusNoRule    = "no_rule"   // the policy in force has no such rule
)

// State is a subject's whole standing at an instant, as known at another.
type State struct {
	Subject  string         `json:"subject"`
	Kind     string         `json:"kind"`
	At       time.Time      `json:"at"`
	Known    time.Time      `json:"known"`
	Policy   string         `json:"policy"` // content hash of the policy version applied
	Schemes  []SchemeState  `json:"schemes"`
	Listings []Listing      `json:"listings"`
	Measures []MeasureState `json:"measures"`
	Records  []RecordState  `json:"records"`
	// Next is the earliest instant after At at which the state changes by
	// itself (a lifetime or period ends, a notice period or a deadline
	// passes, a birthday); zero if never.
	Next    time.Time  `json:"next_change,omitzero"`
	InForce MeasureSet `json:"-"`

	pol *policy.Policy
}

// SchemeState is a subject's standing in one points scheme.
type SchemeState struct {
	Scheme string `json:"scheme"`
	Scored bool   `json:"scored"`
	// Why is set when the subject is not scored: "no_consent", "under_min_age".
	Why           string         `json:"why,omitempty"`
	Score         int            `json:"score"`
	Tier          string         `json:"tier,omitempty"`
	Contributions []Contribution `json:"contributions,omitempty"`
}

// Contribution is the points one record adds to a scheme.
type Contribution struct {
	RecordID int64  `json:"record_id"`
	Rule     string `json:"rule"`
	Points   int    `json:"points"`
	Capped   bool   `json:"capped,omitempty"` // reduced by the rule's cap per window
}

// Listing is a subject's entry on a list.
type Listing struct {
	List  string    `json:"list"`
	Kind  string    `json:"kind"`
	Since time.Time `json:"since"`
	Until time.Time `json:"until,omitzero"` // zero: until the condition no longer holds
	// UntilFulfilled: the entry ends when the obligation is performed, at
	// the latest at Until.
	UntilFulfilled bool    `json:"until_fulfilled,omitempty"`
	Derived        bool    `json:"derived,omitempty"`
	Records        []int64 `json:"records,omitempty"`
	LegalBasis     string  `json:"legal_basis"`
}

// MeasureState is a measure in force against (or for) the subject.
type MeasureState struct {
	Measure    string             `json:"measure"`
	Sector     string             `json:"sector"`
	Effect     string             `json:"effect"`
	Params     map[string]float64 `json:"params,omitempty"`
	Lists      []string           `json:"lists,omitempty"`
	LegalBasis string             `json:"legal_basis"`
	Until      time.Time          `json:"until,omitzero"`
	// Via is set when the measure reaches the subject as a responsible
	// person of an organisation: the organisation and the role.
	Via     string `json:"via,omitempty"`
	ViaRole string `json:"via_role,omitempty"`
	// ExemptPrivate: reaching the subject through an organisation, the
	// measure does not restrict private purposes (policy exempt_private).
	ExemptPrivate bool `json:"exempt_private,omitempty"`
}

// RecordState is one record and what it does at the instant.
type RecordState struct {
	Record   credo.Record `json:"record"`
	Status   string       `json:"status"`
	Until    time.Time    `json:"until,omitzero"` // when its effects end (lifetime)
	Disputed bool         `json:"disputed,omitempty"`
	Overdue  bool         `json:"overdue,omitempty"`
	// Minor: decided while the subject was a minor. The record has no
	// effect, then or later: no list, no points (principle 9).
	Minor bool `json:"minor,omitempty"`
	// DisputeDeadline is the deadline of the open dispute, if any.
	DisputeDeadline time.Time `json:"dispute_deadline,omitzero"`
	// RepairFrom is the first instant a repair may be applied for.
	RepairFrom time.Time `json:"repair_from,omitzero"`
}

// MeasureSet is a set of measures by their index in the policy: the compact
// form kept in decision entries.
type MeasureSet [2]uint64

// Add puts measure i in the set.
func (s *MeasureSet) Add(i int) { s[i>>6] |= 1 << (uint(i) & 63) }

// Has reports whether measure i is in the set.
func (s MeasureSet) Has(i int) bool { return s[i>>6]&(1<<(uint(i)&63)) != 0 }

// And returns the intersection.
func (s MeasureSet) And(o MeasureSet) MeasureSet { return MeasureSet{s[0] & o[0], s[1] & o[1]} }

// Or returns the union.
func (s MeasureSet) Or(o MeasureSet) MeasureSet { return MeasureSet{s[0] | o[0], s[1] | o[1]} }

// Empty reports whether the set is empty.
func (s MeasureSet) Empty() bool { return s[0]|s[1] == 0 }

// Scheme returns the subject's standing in a scheme, or nil.
func (s *State) Scheme(id string) *SchemeState {
	for i := range s.Schemes {
		if s.Schemes[i].Scheme == id {
			return &s.Schemes[i]
		}
	}
	return nil
}

// Listing returns the subject's entry on a list, or nil.
func (s *State) Listing(id string) *Listing {
	for i := range s.Listings {
		if s.Listings[i].List == id {
			return &s.Listings[i]
		}
	}
	return nil
}

// Record returns the state of a record, or nil.
func (s *State) Record(id int64) *RecordState {
	for i := range s.Records {
		if s.Records[i].Record.ID == id {
			return &s.Records[i]
		}
	}
	return nil
}

// Policy returns the policy the state was computed under.
func (s *State) PolicyDoc() *policy.Policy { return s.pol }
