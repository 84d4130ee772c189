package credo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"time"
)

// EncodingVersion names the canonical encoding of the event log: 2 is the
// deterministic CBOR of docs/event-encoding.md; 1 was encoding/json.
const EncodingVersion = 2

// fieldSpec numbers the fields of one struct type of the log: names[i] is
// field number i+1 (its integer map key). Fields not listed are encoded
// under their JSON name as a text key, so that a field added to a payload
// is encoded (deterministically) before it is given a number; numbers are
// never reused or changed, since every stored body depends on them.
type fieldSpec struct {
	names []string
	hex   []string            // hex strings, stored as their bytes when lowercase hex
	skip  []string            // never encoded
	enum  map[string][]string // strings stored as their index in the list when listed
}

// fieldNumbers are the field numbers of the log's structs
// (docs/event-encoding.md lists them).
var fieldNumbers = map[reflect.Type]fieldSpec{
	reflect.TypeFor[Event](): {
		names: []string{"Seq", "Type", "Subject", "Recorded", "Actor", "Record", "Change", "Dispute",
			"Decision", "Repair", "Refusal", "Consent", "Link", "Policy", "Notice", "PrevHash", "Migration",
			"Erasure", "Sealed"},
		hex:  []string{"PrevHash"},
		skip: []string{"Hash"},
		enum: map[string][]string{"Type": eventTypeNumbers},
	},
	reflect.TypeFor[Record](): {
		names: []string{"ID", "Subject", "Rule", "Authority", "CaseRef", "DecidedAt", "NotifiedAt", "Quantity",
			"EvidenceSHA256", "EvidenceURI", "SubjectName", "Kind", "FiledAt", "Sealed"},
		hex: []string{"EvidenceSHA256"},
	},
	reflect.TypeFor[RecordChange](): {names: []string{"RecordID", "At", "Reason", "VoidAbInitio", "ApplicationID"}},
	reflect.TypeFor[Dispute](): {
		names: []string{"ID", "RecordID", "OpenedAt", "Appeal", "Grounds", "EvidenceSHA256", "NewInformation"},
		hex:   []string{"EvidenceSHA256"},
	},
	reflect.TypeFor[DisputeDecision]():   {names: []string{"DisputeID", "RecordID", "At", "Outcome", "Reason"}},
	reflect.TypeFor[RepairApplication](): {names: []string{"ID", "RecordID", "AppliedAt", "Statement", "Commitment"}},
	reflect.TypeFor[RepairRefusal]():     {names: []string{"ApplicationID", "RecordID", "At", "Reason"}},
	reflect.TypeFor[Erasure]():           {names: []string{"Reason", "LegalBasis", "RetentionEnd"}},
	reflect.TypeFor[Consent]():           {names: []string{"Scheme", "At", "Given"}},
	reflect.TypeFor[Link](): {
		names: []string{"Org", "Person", "Role", "From", "Until", "Authority", "LegalBasis", "EvidenceSHA256"},
		hex:   []string{"EvidenceSHA256"},
	},
	reflect.TypeFor[PolicyVersion](): {names: []string{"Hash", "Name", "Effective", "Published", "Source"}, hex: []string{"Hash"}},
	reflect.TypeFor[Notice](): {
		names: []string{"RecordID", "Subject", "SubjectName", "Rule", "RuleTitle", "Severity", "Authority", "CaseRef",
			"DecidedAt", "LegalBasis", "Policy", "ServedAt", "Lists", "Points", "EffectiveFrom", "Lasts", "ObjectUntil",
			"ReviewWithin", "AppealTo", "AppealWithin", "RepairFrom", "HowToObject", "Minor", "Party", "Text",
			"Template", "TextSHA256"},
		hex: []string{"Policy"},
	},
	reflect.TypeFor[LogMigration](): {
		names: []string{"FromEncoding", "ToEncoding", "OldHeadSeq", "OldHeadHash", "NewHeadHash", "NoticesAsFacts"},
		hex:   []string{"OldHeadHash", "NewHeadHash"},
	},
	reflect.TypeFor[NoticeParty]():     {names: []string{"Org", "OrgName", "Role", "Measures"}},
	reflect.TypeFor[NoticeMeasure]():   {names: []string{"Measure", "Title", "Sector", "Effect", "LegalBasis", "ExemptPrivate"}},
	reflect.TypeFor[NoticeAuthority](): {names: []string{"ID", "Name"}},
	reflect.TypeFor[NoticeListing]():   {names: []string{"List", "Title", "Kind", "Public", "LegalBasis", "From", "Until", "UntilFulfilled"}},
	reflect.TypeFor[NoticePoints]():    {names: []string{"Scheme", "Title", "Points", "Capped"}},
	reflect.TypeFor[NoticeText]():      {names: []string{"EN", "ZH"}, hex: []string{"EN", "ZH"}},
}

// eventTypeNumbers are the event types stored as integers (their index);
// a type not listed is stored as text. Append only.
var eventTypeNumbers = []string{
	"", string(EventRecordFiled), string(EventRecordRevoked), string(EventRecordFulfilled),
	string(EventRepairApproved), string(EventRepairApplied), string(EventRepairRefused),
	string(EventDisputeOpened), string(EventDisputeDecided), string(EventConsentGiven),
	string(EventConsentWithdrawn), string(EventLinkAdded), string(EventLinkRemoved),
	string(EventPolicyPublished), string(EventNoticeIssued), string(EventLogMigrated), string(EventSubjectErased),
}

func init() {
	for t, spec := range fieldNumbers {
		for _, list := range [][]string{spec.names, spec.hex, spec.skip} {
			for _, n := range list {
				if _, ok := t.FieldByName(n); !ok {
					panic(fmt.Sprintf("credo: fieldNumbers: %s has no field %s", t, n))
				}
			}
		}
	}
}

// CanonicalEncoding returns the bytes an event's hash is computed over and
// the store keeps as its body: the deterministic CBOR encoding of
// docs/event-encoding.md (RFC 8949 §4.2.1). The hash field is not part of
// it; PrevHash is, which chains every event to its predecessor. In a
// record.filed event the record's id, subject, authority and filing time,
// which are the event's seq, subject, actor and recorded time, are not
// repeated; a notice rendered by a
// template (Notice.Template) keeps the digests of its texts, not the texts.
func CanonicalEncoding(ev *Event) ([]byte, error) {
	return AppendCanonical(nil, ev)
}

// AppendCanonical appends CanonicalEncoding(ev) to b.
func AppendCanonical(b []byte, ev *Event) ([]byte, error) {
	v := ev
	if ev.Type == EventRecordFiled && ev.Record != nil {
		c, r := *ev, *ev.Record
		if err := elide(&r.ID, ev.Seq, "id"); err != nil {
			return nil, err
		}
		if err := elide(&r.Subject, ev.Subject, "subject"); err != nil {
			return nil, err
		}
		if err := elide(&r.Authority, ev.Actor, "authority"); err != nil {
			return nil, err
		}
		switch {
		case SameInstant(r.FiledAt, ev.Recorded):
			r.FiledAt = time.Time{}
		case r.FiledAt.IsZero():
			return nil, fmt.Errorf("record.filed event: the record's filed_at is empty but the event's recorded is not")
		}
		c.Record, v = &r, &c
	}
	if ev.Notice != nil && ev.Notice.Template != 0 && ev.Notice.Text != (NoticeText{}) {
		// Rendered from the facts: only the digests of the texts are kept.
		c, n := *v, *ev.Notice
		n.Text = NoticeText{}
		c.Notice, v = &n, &c
	}
	b, err := appendStruct(b, reflect.ValueOf(v).Elem())
	if err != nil {
		return nil, fmt.Errorf("encoding event %d: %w", ev.Seq, err)
	}
	return b, nil
}

// elide clears a record field equal to the event's (an empty one it cannot
// tell apart, so a record that leaves empty what its event sets cannot be
// encoded).
func elide[T comparable](f *T, ev T, name string) error {
	var zero T
	switch {
	case *f == ev:
		*f = zero
	case *f == zero:
		return fmt.Errorf("record.filed event: the record's %s is empty but the event's is not", name)
	}
	return nil
}

// SameInstant reports whether two times are the same instant at the same
// offset from UTC: whether they encode alike (an instant keeps its
// offset, not the name of its zone).
func SameInstant(a, b time.Time) bool {
	_, ao := a.Zone()
	_, bo := b.Zone()
	return a.Equal(b) && ao == bo && a.IsZero() == b.IsZero()
}

// DecodeCanonical decodes an event body (CanonicalEncoding); the hash is
// left empty, for the caller to set from the stored hash.
func DecodeCanonical(body []byte) (*Event, error) {
	var ev Event
	d := cborDecoder{b: body}
	if err := d.decodeStruct(reflect.ValueOf(&ev).Elem()); err != nil {
		return nil, fmt.Errorf("decoding event: %w", err)
	}
	if d.i != len(body) {
		return nil, fmt.Errorf("decoding event: %d bytes after its end", len(body)-d.i)
	}
	if ev.Type == EventRecordFiled && ev.Record != nil {
		r := ev.Record
		if r.ID == 0 {
			r.ID = ev.Seq
		}
		if r.Subject == "" {
			r.Subject = ev.Subject
		}
		if r.Authority == "" {
			r.Authority = ev.Actor
		}
		if r.FiledAt.IsZero() {
			r.FiledAt = ev.Recorded
		}
	}
	return &ev, nil
}

// HashEvent returns the hex SHA-256 of an event's canonical encoding.
func HashEvent(ev *Event) (string, error) {
	b, err := CanonicalEncoding(ev)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// HashBytes returns the hex SHA-256 of b.
func HashBytes(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
