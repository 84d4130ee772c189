package postgres

import (
	"context"
	"credo/internal/storecore"
	"fmt"

	"credo"
)

// Due process in the store: the invariants of the workflows that only the
// log's lock holder can hold race-free (one open dispute per record, one
// pending repair application per record, an application decided once),
// the repair_applications projection, and the queries behind the queues.

var _ credo.DueProcessStore = (*DB)(nil)

// prepareDueProcess checks a due-process event against the stored state
// inside the write transaction, and fills in what it derives from it.
func (w *writer) prepareDueProcess(ev *credo.Event, field func(string) string) error {
	switch ev.Type {
	case credo.EventDisputeOpened:
		var id int64
		err := w.queryRow("SELECT id FROM disputes WHERE record_id = $1 AND outcome IS NULL ORDER BY id LIMIT 1", ev.Dispute.RecordID).Scan(&id)
		switch {
		case err == nil:
			return &credo.Error{Code: credo.ECONFLICT, Op: "postgres.Append", Field: field("dispute.record_id"),
				Message: fmt.Sprintf("record %d already has an open dispute (%d): it must be decided before another is opened", ev.Dispute.RecordID, id)}
		case !isNoRows(err):
			return internal("Append", err)
		}
	case credo.EventRepairApplied:
		a := ev.Repair
		if err := w.checkRecord(ev, a.RecordID, field("repair.record_id"), field); err != nil {
			return err
		}
		var repaired bool
		if err := w.queryRow("SELECT repaired_at IS NOT NULL FROM records WHERE id = $1", a.RecordID).Scan(&repaired); err != nil {
			return internal("Append", err)
		}
		if repaired {
			return &credo.Error{Code: credo.ECONFLICT, Op: "postgres.Append", Field: field("repair.record_id"),
				Message: fmt.Sprintf("record %d is already repaired", a.RecordID)}
		}
		var id int64
		err := w.queryRow("SELECT id FROM repair_applications WHERE record_id = $1 AND outcome IS NULL ORDER BY id LIMIT 1", a.RecordID).Scan(&id)
		switch {
		case err == nil:
			return &credo.Error{Code: credo.ECONFLICT, Op: "postgres.Append", Field: field("repair.record_id"),
				Message: fmt.Sprintf("record %d already has a pending repair application (%d): it must be decided before another is made", a.RecordID, id)}
		case !isNoRows(err):
			return internal("Append", err)
		}
	case credo.EventRepairRefused:
		r := ev.Refusal
		recordID, err := w.pendingApplication(r.ApplicationID, field("refusal.application_id"))
		if err != nil {
			return err
		}
		if r.RecordID == 0 {
			r.RecordID = recordID
		} else if r.RecordID != recordID {
			return credo.FieldErrorf(field("refusal.record_id"), "application %d concerns record %d, not %d", r.ApplicationID, recordID, r.RecordID)
		}
		return w.checkRecord(ev, recordID, field("refusal.record_id"), field)
	case credo.EventRepairApproved:
		c := ev.Change
		if c.ApplicationID == 0 {
			return nil
		}
		recordID, err := w.pendingApplication(c.ApplicationID, field("change.application_id"))
		if err != nil {
			return err
		}
		if c.RecordID != recordID {
			return credo.FieldErrorf(field("change.record_id"), "application %d concerns record %d, not %d", c.ApplicationID, recordID, c.RecordID)
		}
	}
	return nil
}

// pendingApplication returns the record of a repair application that is
// still waiting for a decision.
func (w *writer) pendingApplication(id int64, idField string) (int64, error) {
	var recordID int64
	var outcome *string
	err := w.queryRow("SELECT record_id, outcome FROM repair_applications WHERE id = $1", id).Scan(&recordID, &outcome)
	if isNoRows(err) {
		return 0, &credo.Error{Code: credo.ENOTFOUND, Op: "postgres.Append", Field: idField,
			Message: fmt.Sprintf("repair application %d not found", id)}
	}
	if err != nil {
		return 0, internal("Append", err)
	}
	if outcome != nil {
		return 0, &credo.Error{Code: credo.ECONFLICT, Op: "postgres.Append", Field: idField,
			Message: fmt.Sprintf("repair application %d is already decided (%s)", id, *outcome)}
	}
	return recordID, nil
}

// projectDueProcess queues the repair_applications projection writes.
func (w *writer) projectDueProcess(ev *credo.Event) {
	switch ev.Type {
	case credo.EventRepairApplied:
		a := ev.Repair
		w.queue("INSERT INTO repair_applications (id, record_id, subject, applied_at) VALUES ($1, $2, $3, $4)",
			a.ID, a.RecordID, ev.Subject, a.AppliedAt)
	case credo.EventRepairRefused:
		r := ev.Refusal
		w.queue("UPDATE repair_applications SET decided_at = $1, outcome = $2, decided_seq = $3 WHERE id = $4",
			r.At, credo.RepairRefused, ev.Seq, r.ApplicationID)
	case credo.EventRepairApproved:
		// The approval decides the application it names and any other
		// pending one on the record: the record is repaired.
		c := ev.Change
		w.queue("UPDATE repair_applications SET decided_at = $1, outcome = $2, decided_seq = $3 WHERE record_id = $4 AND outcome IS NULL",
			c.At, credo.RepairApproved, ev.Seq, c.RecordID)
	}
}

// Disputes returns the disputes that match the filter, oldest first.
func (db *DB) Disputes(ctx context.Context, f credo.DisputeFilter) ([]credo.DisputeView, error) {
	q, err := storecore.DisputesWhere(f, true)
	if err != nil {
		return nil, err
	}
	out, err := db.disputes(ctx, q, f.Limit)
	return out, internal("Disputes", err)
}

// Dispute returns one dispute (ENOTFOUND if absent).
func (db *DB) Dispute(ctx context.Context, id int64) (*credo.DisputeView, error) {
	q := &storecore.Where{Numbered: true}
	q.Add("d.id = ?", id)
	ds, err := db.disputes(ctx, q, 1)
	if err != nil {
		return nil, internal("Dispute", err)
	}
	if len(ds) == 0 {
		return nil, &credo.Error{Code: credo.ENOTFOUND, Op: "postgres.Dispute", Message: fmt.Sprintf("dispute %d not found", id)}
	}
	return &ds[0], nil
}

func (db *DB) disputes(ctx context.Context, q *storecore.Where, limit int) ([]credo.DisputeView, error) {
	rows, err := db.pool.Query(ctx, storecore.DisputesSelect+q.SQL(limit), q.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []credo.DisputeView{}
	for rows.Next() {
		var id int64
		var v credo.DisputeView
		var rbody, obody, dbody []byte
		var rhash, ohash, dhash storecore.HashScan
		if err := rows.Scan(&id, &rbody, &rhash, &obody, &ohash, &dbody, &dhash); err != nil {
			return nil, err
		}
		var err error
		if v.Authority, v.Rule, v.CaseRef, err = storecore.RecordIdentity(rbody, rhash.Hex); err != nil {
			return nil, err
		}
		if v, err = storecore.DisputeView(v, obody, ohash.Hex, dbody, dhash.Ptr()); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// RepairApplications returns the repair applications that match the
// filter, oldest first.
func (db *DB) RepairApplications(ctx context.Context, f credo.RepairFilter) ([]credo.RepairView, error) {
	q, err := storecore.RepairsWhere(f, true)
	if err != nil {
		return nil, err
	}
	out, err := db.repairs(ctx, q, f.Limit)
	return out, internal("RepairApplications", err)
}

// RepairApplication returns one repair application (ENOTFOUND if absent).
func (db *DB) RepairApplication(ctx context.Context, id int64) (*credo.RepairView, error) {
	q := &storecore.Where{Numbered: true}
	q.Add("a.id = ?", id)
	as, err := db.repairs(ctx, q, 1)
	if err != nil {
		return nil, internal("RepairApplication", err)
	}
	if len(as) == 0 {
		return nil, &credo.Error{Code: credo.ENOTFOUND, Op: "postgres.RepairApplication", Message: fmt.Sprintf("repair application %d not found", id)}
	}
	return &as[0], nil
}

func (db *DB) repairs(ctx context.Context, q *storecore.Where, limit int) ([]credo.RepairView, error) {
	rows, err := db.pool.Query(ctx, storecore.RepairsSelect+q.SQL(limit), q.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []credo.RepairView{}
	for rows.Next() {
		var id int64
		var v credo.RepairView
		var outcome *string
		var rbody, obody, dbody []byte
		var rhash, ohash, dhash storecore.HashScan
		if err := rows.Scan(&id, &rbody, &rhash, &outcome, &obody, &ohash, &dbody, &dhash); err != nil {
			return nil, err
		}
		var err error
		if v.Authority, v.Rule, v.CaseRef, err = storecore.RecordIdentity(rbody, rhash.Hex); err != nil {
			return nil, err
		}
		if v, err = storecore.RepairView(v, outcome, obody, ohash.Hex, dbody, dhash.Ptr()); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
