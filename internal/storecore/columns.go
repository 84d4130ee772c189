package storecore

import (
	"errors"
	"strconv"
	"unicode/utf8"

	"credo"
)

// The compact rows of the SQLite log (docs/event-encoding.md, "Where the
// bytes are"). A row of events written by the current code keeps only
// what its body does not hold, or what SQL must filter on: seq, the type
// as a short code, the body and its hash. Its subject column is '', its
// prev_hash X'' and its recorded 0: the body holds them, and every reader
// takes them from there. Rows written before keep their full columns,
// which Verify still compares with the body. So an empty subject or
// prev_hash column means "see the body", never "empty": the two agree for
// the events whose subject or prev_hash really is empty (a policy event,
// the first event).

// eventTypes are the event types that have a number in the canonical
// encoding; typeCodes maps each to its number as text, and codeTypes back.
var (
	eventTypes = []credo.EventType{
		credo.EventRecordFiled, credo.EventRecordRevoked, credo.EventRecordFulfilled,
		credo.EventRepairApproved, credo.EventRepairApplied, credo.EventRepairRefused,
		credo.EventDisputeOpened, credo.EventDisputeDecided, credo.EventConsentGiven,
		credo.EventConsentWithdrawn, credo.EventLinkAdded, credo.EventLinkRemoved,
		credo.EventPolicyPublished, credo.EventNoticeIssued, credo.EventLogMigrated,
		credo.EventSubjectErased,
	}
	typeCodes = map[credo.EventType]string{}
	codeTypes = map[string]credo.EventType{}
)

// The codes are the numbers the canonical encoding gives the types (its
// field 2), read from the encoding itself, so the two cannot drift apart.
func init() {
	for _, t := range eventTypes {
		body, err := credo.CanonicalEncoding(&credo.Event{Type: t})
		if err != nil {
			panic("storecore: encoding an empty " + string(t) + " event: " + err.Error())
		}
		d := headReader{b: body}
		if _, err := d.mapLen(); err != nil {
			panic("storecore: " + err.Error())
		}
		key, err := d.uint()
		if err != nil || key != 2 || d.i >= len(body) || body[d.i]&0xe0 != 0 {
			continue // stored as its name: the column keeps the name too
		}
		n, err := d.uint()
		if err != nil {
			panic("storecore: " + err.Error())
		}
		code := strconv.FormatUint(n, 10)
		typeCodes[t], codeTypes[code] = code, t
	}
}

// TypeColumn is what a new row's type column holds for an event type:
// the type's number in the canonical encoding, as text ("1" for
// record.filed: the column is TEXT), or the name of a type without one.
// No type's name is a number, so a code is never mistaken for a name.
func TypeColumn(t credo.EventType) string {
	if c, ok := typeCodes[t]; ok {
		return c
	}
	return string(t)
}

// ColumnType is the event type a type column holds: a code (a new row)
// or a name (a row written before the codes, or a type without a code).
func ColumnType(col string) credo.EventType {
	if t, ok := codeTypes[col]; ok {
		return t
	}
	return credo.EventType(col)
}

// TypeColumnValues are the values a type column may hold for the types:
// each one's code and its name, for a filter on old and new rows alike.
func TypeColumnValues(types []credo.EventType) []any {
	out := make([]any, 0, 2*len(types))
	for _, t := range types {
		out = append(out, string(t))
		if c, ok := typeCodes[t]; ok {
			out = append(out, c)
		}
	}
	return out
}

// TypeColumnMatches reports whether a type column holds t (its code or
// its name).
func TypeColumnMatches(col string, t credo.EventType) bool {
	return col == string(t) || col == TypeColumn(t)
}

// BodySubject returns the subject of an event from its body, reading only
// its first fields (seq, type and subject come first in the canonical
// encoding): what a reader of a compact row needs without decoding the
// whole event. A body it cannot read that way is decoded in full.
func BodySubject(body []byte) (string, error) {
	_, s, err := BodyHead(body)
	return s, err
}

// BodyHead returns the type and subject of an event from its body, as
// BodySubject.
func BodyHead(body []byte) (credo.EventType, string, error) {
	if t, s, err := bodyHead(body); err == nil {
		return t, s, nil
	}
	ev, err := credo.DecodeCanonical(body)
	if err != nil {
		return "", "", err
	}
	return ev.Type, ev.Subject, nil
}

var errUnusual = errors.New("not the usual head of an event")

func bodyHead(body []byte) (typ credo.EventType, subject string, err error) {
	d := headReader{b: body}
	n, err := d.mapLen()
	if err != nil {
		return "", "", err
	}
	for ; n > 0; n-- {
		if d.i >= len(body) || body[d.i]&0xe0 != 0 {
			return typ, "", nil // a text key: after every numbered field
		}
		key, err := d.uint()
		if err != nil {
			return "", "", err
		}
		switch key {
		case 1: // seq
			if _, err := d.uint(); err != nil {
				return "", "", err
			}
		case 2:
			if typ, err = d.eventType(); err != nil {
				return "", "", err
			}
		case 3:
			subject, err = d.text()
			return typ, subject, err
		default:
			return typ, "", nil // past field 3: no subject
		}
	}
	return typ, "", nil
}

// headReader reads the first items of a canonical body.
type headReader struct {
	b []byte
	i int
}

// arg reads an item's head: its major type and argument.
func (d *headReader) arg() (major byte, arg uint64, err error) {
	if d.i >= len(d.b) {
		return 0, 0, errUnusual
	}
	c := d.b[d.i]
	d.i++
	major, ai := c&0xe0, c&0x1f
	if ai < 24 {
		return major, uint64(ai), nil
	}
	if ai > 27 {
		return 0, 0, errUnusual
	}
	n := 1 << (ai - 24)
	if d.i+n > len(d.b) {
		return 0, 0, errUnusual
	}
	for _, x := range d.b[d.i : d.i+n] {
		arg = arg<<8 | uint64(x)
	}
	d.i += n
	return major, arg, nil
}

func (d *headReader) mapLen() (uint64, error) {
	major, n, err := d.arg()
	if err != nil || major != 0xa0 {
		return 0, errUnusual
	}
	return n, nil
}

func (d *headReader) uint() (uint64, error) {
	major, n, err := d.arg()
	if err != nil || major != 0 {
		return 0, errUnusual
	}
	return n, nil
}

func (d *headReader) text() (string, error) {
	major, n, err := d.arg()
	if err != nil || major != 0x60 || n > uint64(len(d.b)-d.i) {
		return "", errUnusual
	}
	s := string(d.b[d.i : d.i+int(n)])
	d.i += int(n)
	if !utf8.ValidString(s) {
		return "", errUnusual
	}
	return s, nil
}

// eventType reads an event's type: its number or its name.
func (d *headReader) eventType() (credo.EventType, error) {
	if d.i < len(d.b) && d.b[d.i]&0xe0 == 0x60 {
		s, err := d.text()
		return credo.EventType(s), err
	}
	n, err := d.uint()
	if err != nil {
		return "", err
	}
	t, ok := codeTypes[strconv.FormatUint(n, 10)]
	if !ok {
		return "", errUnusual
	}
	return t, nil
}
