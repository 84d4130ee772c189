package storecore

import (
	"fmt"
	"strings"

	"credo"
)

// The due-process views (disputes, repair applications) are read with the
// same queries from both stores; only the placeholders differ.

// DisputesSelect and RepairsSelect read the views; a Where's SQL follows.
const (
	DisputesSelect = `SELECT d.id, er.body, er.hash, eo.body, eo.hash, ed.body, ed.hash
		FROM disputes d JOIN records r ON r.id = d.record_id JOIN events er ON er.seq = d.record_id
		JOIN events eo ON eo.seq = d.id LEFT JOIN events ed ON ed.seq = d.decided_seq`
	RepairsSelect = `SELECT a.id, er.body, er.hash, a.outcome, eo.body, eo.hash, ed.body, ed.hash
		FROM repair_applications a JOIN records r ON r.id = a.record_id JOIN events er ON er.seq = a.record_id
		JOIN events eo ON eo.seq = a.id LEFT JOIN events ed ON ed.seq = a.decided_seq`
)

// RecordIdentity returns the authority, rule and case reference of the
// record a record.filed event (a view's er.body and er.hash) files.
func RecordIdentity(body []byte, hash string) (authority, rule, caseRef string, err error) {
	ev, err := DecodeEvent(body, hash)
	if err != nil {
		return "", "", "", err
	}
	if ev.Record == nil {
		return "", "", "", fmt.Errorf("event %d (%s) files no record", ev.Seq, ev.Type)
	}
	return ev.Record.Authority, ev.Record.Rule, ev.Record.CaseRef, nil
}

// Where builds a WHERE clause from conditions and their arguments, with
// "?" placeholders (SQLite) or numbered ones, $1, $2, ... (PostgreSQL).
type Where struct {
	Numbered bool
	conds    []string
	Args     []any
}

// Add adds a condition; each "?" in cond is one of args.
func (q *Where) Add(cond string, args ...any) {
	for _, a := range args {
		q.Args = append(q.Args, a)
		if q.Numbered {
			cond = strings.Replace(cond, "?", fmt.Sprintf("$%d", len(q.Args)), 1)
		}
	}
	q.conds = append(q.conds, cond)
}

// In adds "col is one of vals" for a non-empty list.
func (q *Where) In(col string, vals []string) {
	switch {
	case len(vals) == 0:
	case q.Numbered:
		q.Add(col+" = ANY(?)", vals)
	default:
		args := make([]any, len(vals))
		for i, v := range vals {
			args[i] = v
		}
		q.Add(col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+")", args...)
	}
}

// State adds the condition of a view's state filter on its outcome column.
func (q *Where) State(col, state string) error {
	switch state {
	case "":
	case credo.StateOpen:
		q.Add(col + " IS NULL")
	case credo.StateDecided:
		q.Add(col + " IS NOT NULL")
	default:
		return credo.FieldErrorf("state", "must be %s or %s, not %q", credo.StateOpen, credo.StateDecided, state)
	}
	return nil
}

// SQL returns the clause, ordered by the first column, with the limit (if
// positive).
func (q *Where) SQL(limit int) string {
	s := ""
	if len(q.conds) > 0 {
		s = " WHERE " + strings.Join(q.conds, " AND ")
	}
	s += " ORDER BY 1"
	if limit > 0 {
		s += fmt.Sprintf(" LIMIT %d", limit)
	}
	return s
}

// DisputesWhere is the clause of a dispute filter.
func DisputesWhere(f credo.DisputeFilter, numbered bool) (*Where, error) {
	q := &Where{Numbered: numbered}
	if err := q.State("d.outcome", f.State); err != nil {
		return nil, err
	}
	q.In("r.authority", f.Authorities)
	if f.Appeal != nil {
		q.Add("d.appeal = ?", *f.Appeal)
	}
	if f.Subject != "" {
		q.Add("d.subject = ?", f.Subject)
	}
	if f.RecordID != 0 {
		q.Add("d.record_id = ?", f.RecordID)
	}
	return q, nil
}

// RepairsWhere is the clause of a repair application filter.
func RepairsWhere(f credo.RepairFilter, numbered bool) (*Where, error) {
	q := &Where{Numbered: numbered}
	if err := q.State("a.outcome", f.State); err != nil {
		return nil, err
	}
	q.In("r.authority", f.Authorities)
	if f.Subject != "" {
		q.Add("a.subject = ?", f.Subject)
	}
	if f.RecordID != 0 {
		q.Add("a.record_id = ?", f.RecordID)
	}
	return q, nil
}

// DisputeView completes a row of DisputesSelect (v holds the authority,
// rule and case reference: RecordIdentity) from the event that opened the dispute and the
// one that decided it (dhash nil: not decided).
func DisputeView(v credo.DisputeView, obody []byte, ohash string, dbody []byte, dhash *string) (credo.DisputeView, error) {
	op, err := DecodeEvent(obody, ohash)
	if err != nil {
		return v, err
	}
	if op.Dispute == nil {
		return v, fmt.Errorf("event %d (%s) opens no dispute", op.Seq, op.Type)
	}
	v.Dispute, v.Subject, v.OpenedBy, v.State = *op.Dispute, op.Subject, op.Actor, credo.StateOpen
	if dhash != nil {
		dec, err := DecodeEvent(dbody, *dhash)
		if err != nil {
			return v, err
		}
		if dec.Decision == nil {
			return v, fmt.Errorf("event %d (%s) decides no dispute", dec.Seq, dec.Type)
		}
		v.State, v.DecidedAt, v.Outcome, v.Reason, v.DecidedBy = credo.StateDecided, dec.Decision.At, dec.Decision.Outcome, dec.Decision.Reason, dec.Actor
	}
	return v, nil
}

// RepairView completes a row of RepairsSelect (v holds the authority,
// rule and case reference: RecordIdentity) from its outcome column, the event that filed
// the application and the one that decided it (dhash nil: not decided).
func RepairView(v credo.RepairView, outcome *string, obody []byte, ohash string, dbody []byte, dhash *string) (credo.RepairView, error) {
	op, err := DecodeEvent(obody, ohash)
	if err != nil {
		return v, err
	}
	if op.Repair == nil {
		return v, fmt.Errorf("event %d (%s) files no repair application", op.Seq, op.Type)
	}
	v.RepairApplication, v.Subject, v.AppliedBy, v.State = *op.Repair, op.Subject, op.Actor, credo.StateOpen
	if dhash != nil {
		dec, err := DecodeEvent(dbody, *dhash)
		if err != nil {
			return v, err
		}
		v.State, v.DecidedBy = credo.StateDecided, dec.Actor
		if outcome != nil {
			v.Outcome = *outcome
		}
		switch {
		case dec.Refusal != nil:
			v.DecidedAt, v.Reason = dec.Refusal.At, dec.Refusal.Reason
		case dec.Change != nil:
			v.DecidedAt, v.Reason = dec.Change.At, dec.Change.Reason
		default:
			return v, fmt.Errorf("event %d (%s) decides no repair application", dec.Seq, dec.Type)
		}
	}
	return v, nil
}
