// Package storecore holds what the SQLite and PostgreSQL stores share that
// does not touch a database: validating and copying events before they are
// appended, decoding stored bodies, telling which field differs between
// two filings of one record, deriving a subject's kind from its identifier.
package storecore

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"credo"
	"credo/ident"
)

// Concern is a subject an event concerns, with its kind when the event
// says it ("org" or "person" for the sides of a link; "" to derive it).
type Concern struct{ Subject, Kind string }

// Concerned returns the distinct subjects an event concerns: its own and,
// for a link, the organisation and the person.
func Concerned(ev *credo.Event) []Concern {
	cs := []Concern{{ev.Subject, ""}}
	if l := ev.Link; l != nil {
		cs = append(cs, Concern{l.Org, "org"}, Concern{l.Person, "person"})
	}
	out := cs[:0]
next:
	for _, c := range cs {
		if c.Subject == "" {
			continue
		}
		for j := range out {
			if out[j].Subject == c.Subject {
				if c.Kind != "" {
					out[j].Kind = c.Kind
				}
				continue next
			}
		}
		out = append(out, c)
	}
	return out
}

// CopyEvent copies an event and its payload, so that assigning fields does
// not touch the caller's values.
func CopyEvent(ev *credo.Event) *credo.Event {
	c := *ev
	c.Seq, c.PrevHash, c.Hash = 0, "", ""
	if ev.Notice != nil {
		c.Notice = CopyNotice(ev.Notice)
	}
	if ev.Change != nil {
		x := *ev.Change
		c.Change = &x
	}
	if ev.Dispute != nil {
		x := *ev.Dispute
		c.Dispute = &x
	}
	if ev.Decision != nil {
		x := *ev.Decision
		c.Decision = &x
	}
	if ev.Repair != nil {
		x := *ev.Repair
		c.Repair = &x
	}
	if ev.Refusal != nil {
		x := *ev.Refusal
		c.Refusal = &x
	}
	if ev.Consent != nil {
		x := *ev.Consent
		c.Consent = &x
	}
	if ev.Link != nil {
		x := *ev.Link
		c.Link = &x
	}
	if ev.Erasure != nil {
		x := *ev.Erasure
		c.Erasure = &x
	}
	c.Sealed = bytes.Clone(ev.Sealed)
	if ev.Policy != nil {
		x := *ev.Policy
		x.Source = bytes.Clone(x.Source)
		c.Policy = &x
	}
	return &c
}

// EventField returns a function naming a field of the i-th of n events.
func EventField(n, i int) func(string) string {
	return func(f string) string {
		if n == 1 {
			return f
		}
		return fmt.Sprintf("events[%d].%s", i, f)
	}
}

// ValidateEvent checks that an event's type is one Append takes and that
// exactly its payload is set.
func ValidateEvent(ev *credo.Event, field func(string) string) error {
	if ev == nil {
		return credo.FieldErrorf(field("event"), "missing")
	}
	if err := ValidateNotice(ev, field); err != nil || ev.Type == credo.EventNoticeIssued {
		return err
	}
	var want string
	switch ev.Type {
	case credo.EventRecordFiled:
		return credo.FieldErrorf(field("type"), "record.filed events are written by FileRecords")
	case credo.EventRecordRevoked, credo.EventRecordFulfilled, credo.EventRepairApproved:
		want = "change"
	case credo.EventDisputeOpened:
		want = "dispute"
	case credo.EventDisputeDecided:
		want = "decision"
	case credo.EventRepairApplied:
		want = "repair"
	case credo.EventRepairRefused:
		want = "refusal"
	case credo.EventConsentGiven, credo.EventConsentWithdrawn:
		want = "consent"
	case credo.EventLinkAdded, credo.EventLinkRemoved:
		want = "link"
	case credo.EventPolicyPublished:
		want = "policy"
	case credo.EventSubjectErased:
		want = "erasure"
	default:
		return credo.FieldErrorf(field("type"), "unknown event type %q", ev.Type)
	}
	set := map[string]bool{
		"record": ev.Record != nil, "change": ev.Change != nil, "dispute": ev.Dispute != nil,
		"decision": ev.Decision != nil, "consent": ev.Consent != nil, "link": ev.Link != nil,
		"policy": ev.Policy != nil, "repair": ev.Repair != nil, "refusal": ev.Refusal != nil,
		"erasure": ev.Erasure != nil,
	}
	if !set[want] {
		return credo.FieldErrorf(field(want), "required for a %s event", ev.Type)
	}
	for _, p := range []string{"record", "change", "dispute", "decision", "consent", "link", "policy", "repair", "refusal", "erasure"} {
		if p != want && set[p] {
			return credo.FieldErrorf(field(p), "not allowed in a %s event", ev.Type)
		}
	}
	if err := checkEventDates(ev, field); err != nil {
		return err
	}
	return validatePayload(ev, want, field)
}

// validatePayload checks what each payload of an event requires.
func validatePayload(ev *credo.Event, want string, field func(string) string) error {
	switch want {
	case "erasure":
		if ev.Subject == "" {
			return credo.FieldErrorf(field("subject"), "required for a %s event", ev.Type)
		}
	case "consent":
		if ev.Subject == "" {
			return credo.FieldErrorf(field("subject"), "required for a %s event", ev.Type)
		}
		if ev.Consent.Scheme == "" {
			return credo.FieldErrorf(field("consent.scheme"), "required")
		}
	case "link":
		if ev.Link.Org == "" {
			return credo.FieldErrorf(field("link.org"), "required")
		}
		if ev.Link.Person == "" {
			return credo.FieldErrorf(field("link.person"), "required")
		}
	case "policy":
		if ev.Subject != "" {
			return credo.FieldErrorf(field("subject"), "must be empty for a policy event")
		}
		if h := ev.Policy.Hash; h != "" && h != credo.HashBytes(ev.Policy.Source) {
			return credo.FieldErrorf(field("policy.hash"), "does not match the SHA-256 of the source")
		}
	}
	return nil
}

// DecodeRecord returns the record of a record.filed event body.
func DecodeRecord(body []byte) (*credo.Record, error) {
	ev, err := credo.DecodeCanonical(body)
	if err != nil {
		return nil, err
	}
	if ev.Record == nil {
		return nil, fmt.Errorf("event %d (%s) has no record", ev.Seq, ev.Type)
	}
	return ev.Record, nil
}

// DifferingField names the first field in which two records with the same
// identity differ, as named in JSON.
func DifferingField(r, o *credo.Record) string {
	switch {
	case r.Subject != o.Subject:
		return "subject"
	case r.Rule != o.Rule:
		return "rule"
	case !r.DecidedAt.Equal(o.DecidedAt):
		return "decided_at"
	case !r.NotifiedAt.Equal(o.NotifiedAt):
		return "notified_at"
	case r.Quantity != o.Quantity:
		return "quantity"
	case r.EvidenceSHA256 != o.EvidenceSHA256:
		return "evidence_sha256"
	case r.EvidenceURI != o.EvidenceURI:
		return "evidence_uri"
	case r.SubjectName != o.SubjectName:
		return "subject_name"
	case !bytes.Equal(r.Sealed, o.Sealed):
		return "sealed"
	}
	return "content"
}

// SubjectKind derives a subject's kind from its identifier: "person",
// "org", or "unknown" if it does not parse (the store does not validate).
func SubjectKind(id string) string {
	if strings.HasPrefix(id, "P:") {
		return "person"
	}
	// A sealed registry's pseudonyms carry their kind (package seal).
	if len(id) > 2 && id[1] == '~' {
		switch id[0] {
		case 'p':
			return "person"
		case 'o':
			return "org"
		}
		return "unknown"
	}
	p, err := ident.Parse(id)
	if err != nil {
		return "unknown"
	}
	return p.Kind.String()
}

// CopyNotice copies a notice deeply.
func CopyNotice(n *credo.Notice) *credo.Notice {
	c := *n
	c.Lists = slices.Clone(n.Lists)
	c.Points = slices.Clone(n.Points)
	return &c
}

func JoinTypes(ts []credo.EventType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ",")
}

func RandomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("credo: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// ValidateNotice checks a notice.issued event: the notice payload and no
// other. It also refuses a notice payload on any other event type.
func ValidateNotice(ev *credo.Event, field func(string) string) error {
	if ev.Type != credo.EventNoticeIssued {
		if ev.Notice != nil {
			return credo.FieldErrorf(field("notice"), "not allowed in a %s event", ev.Type)
		}
		return nil
	}
	if ev.Notice == nil {
		return credo.FieldErrorf(field("notice"), "required for a %s event", ev.Type)
	}
	if ev.Record != nil || ev.Change != nil || ev.Dispute != nil || ev.Decision != nil ||
		ev.Repair != nil || ev.Refusal != nil || ev.Consent != nil || ev.Link != nil || ev.Policy != nil || ev.Erasure != nil {
		return credo.FieldErrorf(field("notice"), "a %s event carries the notice only", ev.Type)
	}
	if ev.Notice.RecordID <= 0 {
		return credo.FieldErrorf(field("notice.record_id"), "required")
	}
	return nil
}

// DecodeEvent decodes a stored event body and sets its hash.
func DecodeEvent(body []byte, hash string) (*credo.Event, error) {
	ev, err := credo.DecodeCanonical(body)
	if err != nil {
		return nil, err
	}
	ev.Hash = hash
	return ev, nil
}
