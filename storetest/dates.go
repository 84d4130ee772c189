package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"credo"
)

// RunDateBounds checks the bounds a store puts on the dates it files
// (issue 15, item 7; docs/dates.md): decided_at and notified_at from
// 1950-01-01 to 2199-12-31, notified_at not before decided_at, the event
// payloads' valid times likewise; each refused with the field and the
// reason. Accepted instants read back exactly (nanoseconds and offset).
func RunDateBounds(t *testing.T, open func(t *testing.T) credo.Store) {
	s := open(t)
	field := func(t *testing.T, err error, want, reason string) {
		t.Helper()
		var e *credo.Error
		if !errors.As(err, &e) || e.Code != credo.EINVALID || e.Field != want || !strings.Contains(e.Message, reason) {
			t.Errorf("error %v; want EINVALID on %s saying %q", err, want, reason)
		}
	}
	n := 0
	rec := func(decided, notified time.Time) *credo.Record {
		n++
		r := NewRecord("court.test", 500+n, 500+n)
		r.DecidedAt, r.NotifiedAt = decided, notified
		return r
	}
	for _, tc := range []struct {
		name              string
		decided, notified time.Time
		field, reason     string
	}{
		{"year 1000", time.Date(1000, 3, 1, 0, 0, 0, 0, cst), time.Time{}, "decided_at", "before 1950-01-01"},
		{"year 1900", time.Date(1900, 3, 1, 0, 0, 0, 0, cst), time.Time{}, "decided_at", "before 1950-01-01"},
		{"zero instant", time.Time{}, time.Time{}, "decided_at", "zero instant"},
		{"year 2200", time.Date(2200, 3, 1, 0, 0, 0, 0, cst), time.Time{}, "decided_at", "after 2199-12-31"},
		{"notified before decided", t0, t0.Add(-time.Hour), "notified_at", "before decided_at"},
		{"notified in 1900", t0, time.Date(1900, 1, 1, 0, 0, 0, 0, cst), "notified_at", "before 1950-01-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.FileRecords(ctx, []*credo.Record{rec(tc.decided, tc.notified)})
			field(t, err, tc.field, tc.reason)
			_, err = s.FileRecords(ctx, []*credo.Record{rec(t0, time.Time{}), rec(tc.decided, tc.notified)})
			field(t, err, "records[1]."+tc.field, tc.reason)
		})
	}
	t.Run("event times", func(t *testing.T) {
		res := file(t, s, rec(t0, time.Time{}))
		_, err := s.Append(ctx, []*credo.Event{{Type: credo.EventRecordFulfilled, Actor: "court.test",
			Change: &credo.RecordChange{RecordID: res[0].Record.ID, At: time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)}}})
		field(t, err, "change.at", "before 1950-01-01")
		_, err = s.Append(ctx, []*credo.Event{{Type: credo.EventLinkAdded, Actor: "admin",
			Link: &credo.Link{Org: USCC(1), Person: RIC(1), Role: credo.RolePrincipal, From: time.Date(1900, 1, 1, 0, 0, 0, 0, cst)}}})
		field(t, err, "link.from", "before 1950-01-01")
	})
	t.Run("exact", func(t *testing.T) {
		decided := time.Date(1950, 1, 1, 8, 0, 0, 0, cst) // the first instant, in Beijing time
		notified := time.Date(1987, 6, 5, 4, 3, 2, 123456789, cst)
		r := rec(decided, notified)
		r.Subject = USCC(900) // an organisation: no birth date before the first instant
		res := file(t, s, r)
		got, err := s.Record(ctx, res[0].Record.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.DecidedAt.Equal(decided) || !got.NotifiedAt.Equal(notified) ||
			got.NotifiedAt.Format(time.RFC3339Nano) != notified.Format(time.RFC3339Nano) {
			t.Errorf("read back decided %s, notified %s; filed %s, %s", got.DecidedAt.Format(time.RFC3339Nano),
				got.NotifiedAt.Format(time.RFC3339Nano), decided.Format(time.RFC3339Nano), notified.Format(time.RFC3339Nano))
		}
	})
}
