package storecore

import (
	"time"

	"credo"
)

// The instants the registry accepts (docs/dates.md). A record is a legal
// decision some rule of a published policy still gives effect to, or
// history an authority imports: nothing in force today was decided before
// the middle of the twentieth century, and dates before it are typing
// errors (1000 for 2000, 1900 for 2019), default values (0001-01-01, Go's
// and many databases' zero) or, before 1901, dates that time zones only
// knew by local mean time (Asia/Shanghai was UTC+8:05:43 then, so a
// date-only value moved by 43 seconds against its standard offset).
// Refusing them keeps every stored instant exactly the one written.
var (
	// Earliest is the first instant accepted: 1950-01-01T00:00:00Z.
	Earliest = time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	// Latest is the first instant past the range: 2200-01-01T00:00:00Z.
	// (A registry also refuses decisions in its own future; this bound is
	// for every valid time, end dates included, and keeps the stores'
	// fixed-width time columns in order.)
	Latest = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// instantOK reports whether CheckInstant accepts t.
func instantOK(t time.Time) bool {
	return !t.IsZero() && !t.Before(Earliest) && t.Before(Latest)
}

// CheckInstant refuses an instant outside [Earliest, Latest) with the
// field and the reason. The zero instant is refused too: where a time is
// optional, check it only when it is set.
func CheckInstant(field string, t time.Time) error {
	switch {
	case t.IsZero():
		return credo.FieldErrorf(field, "0001-01-01T00:00:00Z is no date (it is the zero instant, read as absent); dates from 1950-01-01 to 2199-12-31 are accepted")
	case t.Before(Earliest):
		return credo.FieldErrorf(field, "%s is before 1950-01-01, the earliest date the registry accepts (a typing error?)", t.Format(time.RFC3339Nano))
	case !t.Before(Latest):
		return credo.FieldErrorf(field, "%s is after 2199-12-31, the latest date the registry accepts", t.Format(time.RFC3339Nano))
	}
	return nil
}

// CheckRecordDates checks a record's dates: decided_at in range,
// notified_at (if set) in range and not before decided_at (an authority
// cannot serve notice of a decision not yet made). field names a field of
// the record (the bare name, or records[i].name).
func CheckRecordDates(r *credo.Record, field func(string) string) error {
	if instantOK(r.DecidedAt) && (r.NotifiedAt.IsZero() || instantOK(r.NotifiedAt) && !r.NotifiedAt.Before(r.DecidedAt)) {
		return nil // the common case, without naming the fields (a bulk filing validates every record)
	}
	if err := CheckInstant(field("decided_at"), r.DecidedAt); err != nil {
		return err
	}
	if r.NotifiedAt.IsZero() {
		return nil
	}
	if err := CheckInstant(field("notified_at"), r.NotifiedAt); err != nil {
		return err
	}
	if r.NotifiedAt.Before(r.DecidedAt) {
		return credo.FieldErrorf(field("notified_at"), "%s is before decided_at (%s): notice cannot be served of a decision not yet made",
			r.NotifiedAt.Format(time.RFC3339Nano), r.DecidedAt.Format(time.RFC3339Nano))
	}
	return nil
}

// checkEventDates checks the valid times an event's payload carries.
func checkEventDates(ev *credo.Event, field func(string) string) error {
	var checks []struct {
		name     string
		t        time.Time
		optional bool
	}
	add := func(name string, t time.Time, optional bool) {
		checks = append(checks, struct {
			name     string
			t        time.Time
			optional bool
		}{name, t, optional})
	}
	switch {
	case ev.Change != nil:
		add("change.at", ev.Change.At, true)
	case ev.Dispute != nil:
		add("dispute.opened_at", ev.Dispute.OpenedAt, true)
	case ev.Decision != nil:
		add("decision.at", ev.Decision.At, true)
	case ev.Repair != nil:
		add("repair.applied_at", ev.Repair.AppliedAt, true)
	case ev.Refusal != nil:
		add("refusal.at", ev.Refusal.At, true)
	case ev.Consent != nil:
		add("consent.at", ev.Consent.At, true)
	case ev.Link != nil:
		add("link.from", ev.Link.From, true)
		add("link.until", ev.Link.Until, true)
	}
	for _, c := range checks {
		if c.optional && c.t.IsZero() {
			continue
		}
		if err := CheckInstant(field(c.name), c.t); err != nil {
			return err
		}
	}
	return nil
}
