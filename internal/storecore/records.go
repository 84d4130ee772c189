package storecore

import (
	"fmt"

	"credo"
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
		}
		if err := CheckRecordDates(r, func(f string) string { return RecordField(len(rs), i, f) }); err != nil {
			return err
		}
	}
	return nil
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
