package storecore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"credo"
)

// The facts projection holds, for every event the engine reads, what the
// engine reads of it, in a few tens of bytes: one row per subject the
// event concerns (its own and, for a link, the organisation and the
// person), keyed by (subject, seq), so that bulk readers (the rebuild of
// the decision table, simulation, the census) read every subject's facts
// in subject order without decoding a single event body.
//
// A row's body is the fact: a type code, then the event's recorded
// instant, then the type's fields:
//
//	record.filed      flags, rule, authority, decided_at [, notified_at] [, quantity] [, filed_at]
//	record.revoked,
//	record.fulfilled,
//	repair.approved   flags (void ab initio), record_id, at
//	dispute.opened    flags (appeal, new information), record_id, opened_at
//	dispute.decided   dispute_id, record_id, at, outcome
//	consent.given,
//	consent.withdrawn scheme, at
//	link.added,
//	link.removed      flags, org, person, role, from [, until]
//
// Strings are a uvarint length and the bytes; integers uvarints; an
// instant is its Unix seconds (zigzag varint) and nanoseconds (uvarint);
// a quantity the IEEE 754 bits (8 bytes, little-endian). A record's
// filed_at is stored only when it differs from the event's recorded
// instant (it never does for records filed through a store). The
// encoding is deterministic: one byte string per event, which is what the
// projection check compares with a replay of the log.

// factTypes are the event types with facts, by code (1-based).
var factTypes = []credo.EventType{
	credo.EventRecordFiled, credo.EventRecordRevoked, credo.EventRecordFulfilled, credo.EventRepairApproved,
	credo.EventDisputeOpened, credo.EventDisputeDecided, credo.EventConsentGiven, credo.EventConsentWithdrawn,
	credo.EventLinkAdded, credo.EventLinkRemoved,
}

func factCode(t credo.EventType) byte {
	for i, ft := range factTypes {
		if ft == t {
			return byte(i + 1)
		}
	}
	return 0
}

// HasFacts reports whether events of type t have facts (the engine reads
// them).
func HasFacts(t credo.EventType) bool { return factCode(t) != 0 }

// FactRow is one row of the facts projection.
type FactRow struct {
	Subject string
	Seq     int64
	Body    []byte
}

// FactRows returns the facts projection's rows of a sealed event (Seq and
// Recorded set): one per subject it concerns, none for an event the
// engine does not read.
func FactRows(ev *credo.Event) []FactRow {
	if !HasFacts(ev.Type) {
		return nil
	}
	body := AppendFact(nil, ev)
	if body == nil {
		return nil
	}
	cs := Concerned(ev)
	out := make([]FactRow, len(cs))
	for i, c := range cs {
		out[i] = FactRow{Subject: c.Subject, Seq: ev.Seq, Body: body}
	}
	return out
}

// RecordFact appends the fact of a record's record.filed event (the
// event's recorded instant is r.FiledAt) to b.
func RecordFact(b []byte, r *credo.Record) []byte {
	return appendRecordFact(append(b, factCode(credo.EventRecordFiled)), r, r.FiledAt)
}

// AppendFact appends the fact of ev to b; it returns nil for an event
// without facts or without its payload.
func AppendFact(b []byte, ev *credo.Event) []byte {
	code := factCode(ev.Type)
	if code == 0 {
		return nil
	}
	b = append(b, code)
	switch ev.Type {
	case credo.EventRecordFiled:
		if ev.Record == nil {
			return nil
		}
		return appendRecordFact(b, ev.Record, ev.Recorded)
	}
	b = appendTime(b, ev.Recorded)
	switch ev.Type {
	case credo.EventRecordRevoked, credo.EventRecordFulfilled, credo.EventRepairApproved:
		c := ev.Change
		if c == nil {
			return nil
		}
		b = append(b, flag(c.VoidAbInitio, 1))
		b = binary.AppendUvarint(b, uint64(c.RecordID))
		return appendTime(b, c.At)
	case credo.EventDisputeOpened:
		d := ev.Dispute
		if d == nil {
			return nil
		}
		b = append(b, flag(d.Appeal, 1)|flag(d.NewInformation, 2))
		b = binary.AppendUvarint(b, uint64(d.RecordID))
		return appendTime(b, d.OpenedAt)
	case credo.EventDisputeDecided:
		d := ev.Decision
		if d == nil {
			return nil
		}
		b = binary.AppendUvarint(b, uint64(d.DisputeID))
		b = binary.AppendUvarint(b, uint64(d.RecordID))
		b = appendTime(b, d.At)
		return appendString(b, d.Outcome)
	case credo.EventConsentGiven, credo.EventConsentWithdrawn:
		c := ev.Consent
		if c == nil {
			return nil
		}
		b = append(b, flag(c.Given, 1))
		b = appendString(b, c.Scheme)
		return appendTime(b, c.At)
	default: // links
		l := ev.Link
		if l == nil {
			return nil
		}
		b = append(b, flag(!l.Until.IsZero(), 1))
		b = appendString(b, l.Org)
		b = appendString(b, l.Person)
		b = appendString(b, l.Role)
		b = appendTime(b, l.From)
		if !l.Until.IsZero() {
			b = appendTime(b, l.Until)
		}
		return b
	}
}

func appendRecordFact(b []byte, r *credo.Record, recorded time.Time) []byte {
	b = appendTime(b, recorded)
	fl := flag(!r.NotifiedAt.IsZero(), 1) | flag(r.Quantity != 0, 2) | flag(!r.FiledAt.Equal(recorded), 4)
	b = append(b, fl)
	b = appendString(b, r.Rule)
	b = appendString(b, r.Authority)
	b = appendTime(b, r.DecidedAt)
	if fl&1 != 0 {
		b = appendTime(b, r.NotifiedAt)
	}
	if fl&2 != 0 {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.Quantity))
	}
	if fl&4 != 0 {
		b = appendTime(b, r.FiledAt)
	}
	return b
}

func flag(v bool, bit byte) byte {
	if v {
		return bit
	}
	return 0
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		// The zero instant (never stored as a valid time: see CheckInstant)
		// has its own code, so that it decodes as the zero time.Time.
		return binary.AppendUvarint(binary.AppendVarint(b, 0), 1)
	}
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond())<<1)
}

// factReader decodes a fact body.
type factReader struct {
	b     []byte
	err   error
	names Names
}

var errShortFact = errors.New("truncated fact")

func (r *factReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errShortFact
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *factReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShortFact
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *factReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errShortFact
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *factReader) string() string {
	n := r.uvarint()
	if r.err != nil || uint64(len(r.b)) < n {
		r.err = errShortFact
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// name is string for a policy's name (a rule, an authority, a scheme, a
// role, an outcome): a city's millions of facts name a few hundred, so a
// scan keeps one copy of each (Names) instead of one a fact.
func (r *factReader) name() string {
	if r.names == nil {
		return r.string()
	}
	n := r.uvarint()
	if r.err != nil || uint64(len(r.b)) < n {
		r.err = errShortFact
		return ""
	}
	b := r.b[:n]
	r.b = r.b[n:]
	if s, ok := r.names[string(b)]; ok { // no allocation: a map lookup by bytes
		return s
	}
	s := string(b)
	if len(r.names) < maxNames {
		r.names[s] = s
	}
	return s
}

// Names interns the policy names of the facts one scan decodes
// (DecodeFactNames). Not safe for concurrent use: one per scan.
type Names map[string]string

// maxNames bounds a Names: the names of a policy's rules, authorities,
// schemes and roles, with room for the versions a log has seen.
const maxNames = 1 << 14

func (r *factReader) time() time.Time {
	secs := r.varint()
	ns := r.uvarint()
	if ns&1 != 0 {
		return time.Time{}
	}
	return time.Unix(secs, int64(ns>>1)).UTC()
}

// DecodeFact decodes a fact body into the event the engine reads: the
// type, seq, subject and recorded instant, and the payload's fields the
// engine reads (a record's identifiers, rule, authority, instants and
// quantity; not its case reference, evidence or name). Instants are in
// UTC.
func DecodeFact(subject string, seq int64, body []byte) (credo.Event, error) {
	return DecodeFactNames(subject, seq, body, nil)
}

// DecodeFactNames is DecodeFact with the policy names a fact holds taken
// from names (nil: none), where it adds those it has not seen.
func DecodeFactNames(subject string, seq int64, body []byte, names Names) (credo.Event, error) {
	r := &factReader{b: body, names: names}
	code := r.byte()
	if r.err != nil || code == 0 || int(code) > len(factTypes) {
		return credo.Event{}, fmt.Errorf("fact %d of %s: unknown type code %d", seq, subject, code)
	}
	ev := credo.Event{Seq: seq, Type: factTypes[code-1], Subject: subject}
	ev.Recorded = r.time()
	switch ev.Type {
	case credo.EventRecordFiled:
		fl := r.byte()
		rec := &credo.Record{ID: seq, Subject: subject, Rule: r.name(), Authority: r.name(), DecidedAt: r.time(), FiledAt: ev.Recorded}
		if fl&1 != 0 {
			rec.NotifiedAt = r.time()
		}
		if fl&2 != 0 {
			if len(r.b) < 8 {
				r.err = errShortFact
			} else {
				rec.Quantity = math.Float64frombits(binary.LittleEndian.Uint64(r.b))
				r.b = r.b[8:]
			}
		}
		if fl&4 != 0 {
			rec.FiledAt = r.time()
		}
		ev.Record = rec
	case credo.EventRecordRevoked, credo.EventRecordFulfilled, credo.EventRepairApproved:
		fl := r.byte()
		ev.Change = &credo.RecordChange{VoidAbInitio: fl&1 != 0, RecordID: int64(r.uvarint()), At: r.time()}
	case credo.EventDisputeOpened:
		fl := r.byte()
		ev.Dispute = &credo.Dispute{ID: seq, Appeal: fl&1 != 0, NewInformation: fl&2 != 0, RecordID: int64(r.uvarint()), OpenedAt: r.time()}
	case credo.EventDisputeDecided:
		ev.Decision = &credo.DisputeDecision{DisputeID: int64(r.uvarint()), RecordID: int64(r.uvarint()), At: r.time(), Outcome: r.name()}
	case credo.EventConsentGiven, credo.EventConsentWithdrawn:
		fl := r.byte()
		ev.Consent = &credo.Consent{Given: fl&1 != 0, Scheme: r.name(), At: r.time()}
	default:
		fl := r.byte()
		l := &credo.Link{Org: r.string(), Person: r.string(), Role: r.name(), From: r.time()}
		if fl&1 != 0 {
			l.Until = r.time()
		}
		ev.Link = l
		// A link event's subject is its organisation, under whichever
		// subject's key it is read.
		ev.Subject = l.Org
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errors.New("trailing bytes")
	}
	if r.err != nil {
		return credo.Event{}, fmt.Errorf("fact %d of %s: %w", seq, subject, r.err)
	}
	return ev, nil
}

// ScanFacts is both stores' read of the facts projection (see
// credo.FactsReader.ScanFacts), in the snapshot q reads. Errors of fn are
// returned as they are; the others (the driver's, an undecodable fact, a
// cancelled context) go through wrap.
func ScanFacts(ctx context.Context, q Querier, from, to string, fn func(subject string, evs []credo.Event) error, wrap func(error) error) error {
	query := "SELECT subject, seq, body FROM facts WHERE subject >= " + ph(q)
	args := []any{from}
	if to != "" {
		if q.Numbered() {
			query += " AND subject < $2"
		} else {
			query += " AND subject < ?"
		}
		args = append(args, to)
	}
	rows, err := q.Query(ctx, query+" ORDER BY subject, seq", args...)
	if err != nil {
		return wrap(err)
	}
	defer rows.Close()
	// A driver that can lends the row's bytes (sql.RawBytes, valid until
	// the next row): the subject is copied once a subject, the body never
	// (the decoded fact copies what it keeps).
	_, raw := q.(interface{ RawBytes() bool })
	names := Names{}
	var cur string
	var evs []credo.Event
	var n int
	// Scanned into the same variables row after row: a variable declared
	// in the loop would be allocated each row (its address escapes).
	var (
		subject string
		seq     int64
		body    []byte
		rs, rb  sql.RawBytes
	)
	for rows.Next() {
		if raw {
			if err := rows.Scan(&rs, &seq, &rb); err != nil {
				return wrap(err)
			}
			if string(rs) == cur { // no allocation
				subject = cur
			} else {
				subject = string(rs)
			}
			body = rb
		} else if err := rows.Scan(&subject, &seq, &body); err != nil {
			return wrap(err)
		}
		if subject != cur && len(evs) > 0 {
			if err := fn(cur, evs); err != nil {
				return err
			}
			evs = make([]credo.Event, 0, len(evs)) // fn may keep the last
		}
		cur = subject
		ev, err := DecodeFactNames(subject, seq, body, names)
		if err != nil {
			return wrap(err)
		}
		evs = append(evs, ev)
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return wrap(err)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(err)
	}
	if len(evs) > 0 {
		return fn(cur, evs)
	}
	return nil
}

// FactSplits is both stores' FactSplits (see credo.FactsReader): the
// quantiles of the subjects of events sampled at evenly spaced sequence
// numbers, which fall on subjects in proportion to their events.
func FactSplits(ctx context.Context, q Querier, n int) ([]string, error) {
	if n < 2 {
		return nil, nil
	}
	var head int64
	if err := q.QueryRow(ctx, "SELECT COALESCE(max(seq), 0) FROM events").Scan(&head); err != nil {
		return nil, err
	}
	samples := 32 * n
	if head < int64(4*samples) {
		return nil, nil // small: one range
	}
	// A compact row's subject column is empty: its subject is in its body
	// (columns.go).
	query := "SELECT subject, CASE WHEN subject = '' THEN body END FROM events WHERE seq = " + ph(q)
	var subjects []string
	for i := 1; i <= samples; i++ {
		var s string
		var body []byte
		err := q.QueryRow(ctx, query, head*int64(i)/int64(samples+1)).Scan(&s, &body)
		if err != nil && !q.NoRows(err) {
			return nil, err
		}
		if s == "" && body != nil {
			if s, err = BodySubject(body); err != nil {
				return nil, err
			}
		}
		if s != "" {
			subjects = append(subjects, s)
		}
	}
	slices.Sort(subjects)
	var out []string
	for k := 1; k < n && len(subjects) > 0; k++ {
		s := subjects[k*len(subjects)/n]
		if len(out) == 0 || s > out[len(out)-1] {
			out = append(out, s)
		}
	}
	return out, nil
}
