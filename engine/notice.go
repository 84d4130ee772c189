package engine

import (
	"time"

	"credo"
	"credo/policy"
)

// ListingSpan is when a record, as filed and with nothing known about it
// since, keeps its subject on a list under a rule's listing spec: from the
// decision date or the end of the list's notice period (run from when
// notice was served, the earlier of the record's notified_at and its
// filing), whichever is later, until the period ends (for until_fulfilled,
// at the latest at its maximum). The notices Credo issues state exactly
// what the engine will apply.
func ListingSpan(pol *policy.Policy, l *policy.List, spec policy.ListingSpec, rec *credo.Record) (from, to time.Time) {
	return listingSpan(pol, l, spec, &recFacts{rec: *rec})
}

// RepairFrom is the first instant credit repair of a record may be applied
// for under its rule (the rule's minimum period from the decision date),
// and false if the rule allows none. The engine, the notices and the
// registry's repair gate use this one function.
func RepairFrom(pol *policy.Policy, rule *policy.Rule, rec *credo.Record) (time.Time, bool) {
	if rule == nil || !rule.Repair.IsAllowed() {
		return time.Time{}, false
	}
	return pol.Calendar.Add(rec.DecidedAt, rule.Repair.After), true
}

// NoticeServed is when notice of a record counts as served for notice
// periods: the earlier of the authority's notified_at and Credo's filing.
func NoticeServed(rec *credo.Record) time.Time {
	served := rec.FiledAt
	if !rec.NotifiedAt.IsZero() && (served.IsZero() || rec.NotifiedAt.Before(served)) {
		served = rec.NotifiedAt
	}
	return served
}
