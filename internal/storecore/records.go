package storecore

import (
	"fmt"
	"time"

	"credo"
	"credo/ident"
)

// RecordField names field of the i-th of n records filed in one call: the
// bare name when the call files one record, records[i].field otherwise.
func RecordField(n, i int, field string) string {
	if n == 1 {
		return field
	}
	return fmt.Sprintf("records[%d].%s", i, field)
}

// ValidateRecords checks what a store itself needs of records to file:
// their identity and subject, and dates within the bounds the registry
// accepts (CheckRecordDates). Everything else is the registry's business.
func ValidateRecords(rs []*credo.Record) error {
	for i, r := range rs {
		switch {
		case r == nil:
			return credo.FieldErrorf(RecordField(len(rs), i, "record"), "missing")
		case r.Authority == "":
			return credo.FieldErrorf(RecordField(len(rs), i, "authority"), "required")
		case r.CaseRef == "":
			return credo.FieldErrorf(RecordField(len(rs), i, "case_ref"), "required")
		case r.Subject == "":
			return credo.FieldErrorf(RecordField(len(rs), i, "subject"), "required")
		case r.Kind != "":
			return credo.FieldErrorf(RecordField(len(rs), i, "kind"), "is for filing: the registry folds it into the canonical subject")
		}
		if err := CheckRecordDates(r, func(f string) string { return RecordField(len(rs), i, f) }); err != nil {
			return err
		}
		if err := bornBy(r); err != nil {
			return credo.FieldErrorf(RecordField(len(rs), i, "decided_at"), "%s", err)
		}
	}
	return nil
}

// bornBy refuses a record decided before its subject was born, as the
// subject's ID card number tells (at the start of the birth date anywhere
// on Earth, UTC+14: the registry judges in the policy's time zone).
func bornBy(r *credo.Record) error {
	if len(r.Subject) > 2 && r.Subject[1] == '~' {
		return nil // a sealed registry's pseudonym (see SubjectKind): no birth date to read
	}
	id, err := ident.Parse(r.Subject)
	if err != nil || !id.HasBirth() || r.DecidedAt.IsZero() || !r.DecidedAt.Before(id.Birth.Add(-14*time.Hour)) {
		return nil
	}
	return fmt.Errorf("%s is before the subject was born (%s)", r.DecidedAt.UTC().Format("2006-01-02"), id.Birth.Format("2006-01-02"))
}

// CopyRecords returns copies of records, for a committer to work on: a
// caller that gives up waiting (its context ends) may reuse its records
// while the call still commits.
func CopyRecords(rs []*credo.Record) []*credo.Record {
	cp := make([]credo.Record, len(rs))
	ptrs := make([]*credo.Record, len(rs))
	for i, r := range rs {
		cp[i] = *r
		ptrs[i] = &cp[i]
	}
	return ptrs
}
