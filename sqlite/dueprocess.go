package sqlite

import (
	"context"
	"credo/internal/storecore"
	"database/sql"
	"errors"
	"fmt"

	"credo"
)

// Due process in the store: the invariants of the workflows that only the
// writer can hold race-free (one open dispute per record, one pending
// repair application per record, an application decided once), the
// repair_applications projection, and the queries behind the queues.

var _ credo.DueProcessStore = (*DB)(nil)

// prepareDueProcess checks a due-process event against the stored state
// inside the write transaction, and fills in what it derives from it.
func (w *writer) prepareDueProcess(ev *credo.Event, field func(string) string) error {
	switch ev.Type {
	case credo.EventDisputeOpened:
		var id int64
		err := w.queryRow("SELECT id FROM disputes WHERE record_id = ? AND outcome IS NULL ORDER BY id LIMIT 1", ev.Dispute.RecordID).Scan(&id)
		switch {
		case err == nil:
			return &credo.Error{Code: credo.ECONFLICT, Op: "sqlite.Append", Field: field("dispute.record_id"),
				Message: fmt.Sprintf("record %d already has an open dispute (%d): it must be decided before another is opened", ev.Dispute.RecordID, id)}
		case !errors.Is(err, sql.ErrNoRows):
			return internal("Append", err)
		}
	case credo.EventRepairApplied:
		a := ev.Repair
		if err := w.checkRecord(ev, a.RecordID, field("repair.record_id"), field); err != nil {
			return err
		}
		var repaired sql.NullString
		if err := w.queryRow("SELECT repaired_at FROM records WHERE id = ?", a.RecordID).Scan(&repaired); err != nil {
			return internal("Append", err)
		}
		if repaired.Valid {
			return &credo.Error{Code: credo.ECONFLICT, Op: "sqlite.Append", Field: field("repair.record_id"),
				Message: fmt.Sprintf("record %d is already repaired", a.RecordID)}
		}
		var id int64
		err := w.queryRow("SELECT id FROM repair_applications WHERE record_id = ? AND outcome IS NULL ORDER BY id LIMIT 1", a.RecordID).Scan(&id)
		switch {
		case err == nil:
			return &credo.Error{Code: credo.ECONFLICT, Op: "sqlite.Append", Field: field("repair.record_id"),
				Message: fmt.Sprintf("record %d already has a pending repair application (%d): it must be decided before another is made", a.RecordID, id)}
		case !errors.Is(err, sql.ErrNoRows):
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
	var outcome sql.NullString
	err := w.queryRow("SELECT record_id, outcome FROM repair_applications WHERE id = ?", id).Scan(&recordID, &outcome)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, &credo.Error{Code: credo.ENOTFOUND, Op: "sqlite.Append", Field: idField,
			Message: fmt.Sprintf("repair application %d not found", id)}
	}
	if err != nil {
		return 0, internal("Append", err)
	}
	if outcome.Valid {
		return 0, &credo.Error{Code: credo.ECONFLICT, Op: "sqlite.Append", Field: idField,
			Message: fmt.Sprintf("repair application %d is already decided (%s)", id, outcome.String)}
	}
	return recordID, nil
}

// projectDueProcess updates the repair_applications projection.
func (w *writer) projectDueProcess(ev *credo.Event) error {
	var err error
	switch ev.Type {
	case credo.EventRepairApplied:
		a := ev.Repair
		_, err = w.exec("INSERT INTO repair_applications (id, record_id, subject, applied_at) VALUES (?, ?, ?, ?)",
			a.ID, a.RecordID, ev.Subject, utcText(a.AppliedAt))
	case credo.EventRepairRefused:
		r := ev.Refusal
		_, err = w.exec("UPDATE repair_applications SET decided_at = ?, outcome = ?, decided_seq = ? WHERE id = ?",
			utcText(r.At), credo.RepairRefused, ev.Seq, r.ApplicationID)
	case credo.EventRepairApproved:
		// The approval decides the application it names and any other
		// pending one on the record: the record is repaired.
		c := ev.Change
		_, err = w.exec("UPDATE repair_applications SET decided_at = ?, outcome = ?, decided_seq = ? WHERE record_id = ? AND outcome IS NULL",
			utcText(c.At), credo.RepairApproved, ev.Seq, c.RecordID)
	}
	return err
}

// Disputes returns the disputes that match the filter, oldest first.
func (db *DB) Disputes(ctx context.Context, f credo.DisputeFilter) ([]credo.DisputeView, error) {
	q, err := storecore.DisputesWhere(f, false)
	if err != nil {
		return nil, err
	}
	out, err := db.disputes(ctx, q, f.Limit)
	return out, internal("Disputes", err)
}

// Dispute returns one dispute (ENOTFOUND if absent).
func (db *DB) Dispute(ctx context.Context, id int64) (*credo.DisputeView, error) {
	q := &storecore.Where{Numbered: false}
	q.Add("d.id = ?", id)
	ds, err := db.disputes(ctx, q, 1)
	if err != nil {
		return nil, internal("Dispute", err)
	}
	if len(ds) == 0 {
		return nil, &credo.Error{Code: credo.ENOTFOUND, Op: "sqlite.Dispute", Message: fmt.Sprintf("dispute %d not found", id)}
	}
	return &ds[0], nil
}

func (db *DB) disputes(ctx context.Context, q *storecore.Where, limit int) ([]credo.DisputeView, error) {
	rows, err := db.rdb.QueryContext(ctx, storecore.DisputesSelect+q.SQL(limit), q.Args...)
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
	q, err := storecore.RepairsWhere(f, false)
	if err != nil {
		return nil, err
	}
	out, err := db.repairs(ctx, q, f.Limit)
	return out, internal("RepairApplications", err)
}

// RepairApplication returns one repair application (ENOTFOUND if absent).
func (db *DB) RepairApplication(ctx context.Context, id int64) (*credo.RepairView, error) {
	q := &storecore.Where{Numbered: false}
	q.Add("a.id = ?", id)
	as, err := db.repairs(ctx, q, 1)
	if err != nil {
		return nil, internal("RepairApplication", err)
	}
	if len(as) == 0 {
		return nil, &credo.Error{Code: credo.ENOTFOUND, Op: "sqlite.RepairApplication", Message: fmt.Sprintf("repair application %d not found", id)}
	}
	return &as[0], nil
}

func (db *DB) repairs(ctx context.Context, q *storecore.Where, limit int) ([]credo.RepairView, error) {
	rows, err := db.rdb.QueryContext(ctx, storecore.RepairsSelect+q.SQL(limit), q.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []credo.RepairView{}
	for rows.Next() {
		var id int64
		var v credo.RepairView
		var outcome sql.NullString
		var rbody, obody, dbody []byte
		var rhash, ohash, dhash storecore.HashScan
		if err := rows.Scan(&id, &rbody, &rhash, &outcome, &obody, &ohash, &dbody, &dhash); err != nil {
			return nil, err
		}
		var err error
		if v.Authority, v.Rule, v.CaseRef, err = storecore.RecordIdentity(rbody, rhash.Hex); err != nil {
			return nil, err
		}
		var oc *string
		if outcome.Valid {
			oc = &outcome.String
		}
		if v, err = storecore.RepairView(v, oc, obody, ohash.Hex, dbody, dhash.Ptr()); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
