package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"credo"
	"credo/internal/storecore"
)

// Append appends non-record events atomically (see credo.Store). Besides
// Seq, Recorded (if zero), PrevHash and Hash it assigns:
//   - Dispute.ID (the event's Seq) of a dispute.opened event, and
//     Repair.ID of a repair.applied event;
//   - Refusal.RecordID, if zero (the record applied for);
//   - Subject, if empty, of a change or dispute event (the record's
//     subject) and of a link event (the organisation);
//   - Decision.RecordID, if zero (the disputed record);
//   - Policy.Hash, if empty (SHA-256 of the source), and Policy.Published,
//     if zero (Recorded).
//
// It fails with ENOTFOUND if a referenced record or dispute does not exist,
// EINVALID if an event is malformed or names a subject other than its
// record's, and ECONFLICT if a dispute is decided twice, a second dispute
// is opened on a record while one is open, or a repair application is
// made while one is pending (or the record is repaired) or decided twice. Publishing a policy
// version already published is a no-op that returns the original event.
// The events passed in are not modified.
func (db *DB) Append(ctx context.Context, evs []*credo.Event) ([]*credo.Event, error) {
	cp := make([]*credo.Event, len(evs))
	for i, ev := range evs {
		if err := storecore.ValidateEvent(ev, storecore.EventField(len(evs), i)); err != nil {
			return nil, err
		}
		cp[i] = storecore.CopyEvent(ev)
	}
	if len(cp) == 0 {
		return cp, nil
	}
	req := &request{ctx: ctx, op: "Append", evs: cp}
	if err := db.submit(req); err != nil {
		return nil, err
	}
	return req.events, nil
}

// append writes evs (already validated copies) inside the open transaction.
func (w *writer) append(evs []*credo.Event) (_ []*credo.Event, err error) {
	defer func() {
		if err != nil {
			w.dropTree() // the failed call's stored hashes
		}
	}()
	out := make([]*credo.Event, len(evs))
	subjects := storecore.NewSubjectSet()
	now := w.stamp()
	for i, ev := range evs {
		field := storecore.EventField(len(evs), i)
		existing, err := w.prepareEvent(ev, field)
		if err != nil {
			return nil, err
		}
		if existing != nil {
			out[i] = existing
			continue
		}
		w.seq++
		body, err := storecore.Seal(ev, w.seq, w.hash, now)
		if err != nil {
			return nil, err
		}
		w.hash = ev.Hash
		if err := w.addLeaf(ev.Seq, body); err != nil {
			return nil, internal("Append", err)
		}
		if _, err := w.exec(insertEvent, eventRow(ev.Seq, ev.Type, body, storecore.RawHash(ev.Hash))...); err != nil {
			return nil, internal("Append", err)
		}
		// During a bulk load the rows keyed by subject wait for EndBulk,
		// as the records' do (bulk.go).
		b := w.bulk.Load()
		later := b != nil && bulkable(ev)
		if later {
			b.rows.addEvent(ev)
		} else {
			for _, c := range storecore.Concerned(ev) {
				if _, err := w.exec("INSERT INTO subject_events (subject, seq) VALUES (?, ?) ON CONFLICT DO NOTHING", c.Subject, ev.Seq); err != nil {
					return nil, internal("Append", err)
				}
				subjects.Add(c.Subject, ev.Seq, c.Kind)
			}
		}
		if err := w.project(ev); err != nil {
			return nil, internal("Append", err)
		}
		if !later {
			if err := w.insertFacts(ev); err != nil {
				return nil, internal("Append", err)
			}
		}
		out[i] = ev
	}
	if err := w.upsertSubjects(subjects); err != nil {
		return nil, internal("Append", err)
	}
	if err := w.flushTree(); err != nil {
		return nil, internal("Append", err)
	}
	return out, nil
}

// concern is a subject an event concerns, with its kind if the event
// tells it ("org" or "person" for the parties of a link).
// prepareEvent checks an event against the stored state and fills in what
// it derives from it. For a policy version already published it returns
// the event that published it.
func (w *writer) prepareEvent(ev *credo.Event, field func(string) string) (*credo.Event, error) {
	if err := w.prepareDueProcess(ev, field); err != nil {
		return nil, err
	}
	switch ev.Type {
	case credo.EventNoticeIssued:
		return w.prepareNotice(ev, field)
	case credo.EventRecordRevoked, credo.EventRecordFulfilled, credo.EventRepairApproved:
		return nil, w.checkRecord(ev, ev.Change.RecordID, field("change.record_id"), field)
	case credo.EventDisputeOpened:
		return nil, w.checkRecord(ev, ev.Dispute.RecordID, field("dispute.record_id"), field)
	case credo.EventDisputeDecided:
		d := ev.Decision
		var recordID int64
		var outcome sql.NullString
		err := w.queryRow("SELECT record_id, outcome FROM disputes WHERE id = ?", d.DisputeID).Scan(&recordID, &outcome)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &credo.Error{Code: credo.ENOTFOUND, Op: "sqlite.Append", Field: field("decision.dispute_id"),
				Message: fmt.Sprintf("dispute %d not found", d.DisputeID)}
		}
		if err != nil {
			return nil, internal("Append", err)
		}
		if outcome.Valid {
			return nil, &credo.Error{Code: credo.ECONFLICT, Op: "sqlite.Append", Field: field("decision.dispute_id"),
				Message: fmt.Sprintf("dispute %d is already decided (%s)", d.DisputeID, outcome.String)}
		}
		if d.RecordID == 0 {
			d.RecordID = recordID
		} else if d.RecordID != recordID {
			return nil, credo.FieldErrorf(field("decision.record_id"), "dispute %d concerns record %d, not %d", d.DisputeID, recordID, d.RecordID)
		}
		return nil, w.checkRecord(ev, recordID, field("decision.record_id"), field)
	case credo.EventLinkAdded, credo.EventLinkRemoved:
		if ev.Subject == "" {
			ev.Subject = ev.Link.Org
		}
	case credo.EventPolicyPublished:
		p := ev.Policy
		if p.Hash == "" {
			p.Hash = credo.HashBytes(p.Source)
		}
		var seq int64
		err := w.queryRow("SELECT seq FROM policies WHERE hash = ?", p.Hash).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, internal("Append", err)
		}
		var body []byte
		var hash storecore.HashScan
		if err := w.queryRow("SELECT body, hash FROM events WHERE seq = ?", seq).Scan(&body, &hash); err != nil {
			return nil, internal("Append", err)
		}
		return storecore.DecodeEvent(body, hash.Hex)
	}
	return nil, nil
}

// checkRecord checks that record id exists and fills in (or checks) the
// event's subject with the record's.
func (w *writer) checkRecord(ev *credo.Event, id int64, idField string, field func(string) string) error {
	subject, err := w.recordSubject(id)
	if errors.Is(err, sql.ErrNoRows) {
		return &credo.Error{Code: credo.ENOTFOUND, Op: "sqlite.Append", Field: idField,
			Message: fmt.Sprintf("record %d not found", id)}
	}
	if err != nil {
		return internal("Append", err)
	}
	if ev.Subject == "" {
		ev.Subject = subject
	} else if ev.Subject != subject {
		return credo.FieldErrorf(field("subject"), "record %d concerns %s, not %s", id, subject, ev.Subject)
	}
	return nil
}

// recordStatus recomputes records.status from its change columns:
// revocation wins over repair, repair over fulfilment.
const recordStatus = `UPDATE records SET status = CASE
	WHEN revoked_at IS NOT NULL THEN 'revoked'
	WHEN repaired_at IS NOT NULL THEN 'repaired'
	WHEN fulfilled_at IS NOT NULL THEN 'fulfilled'
	ELSE 'active' END
	WHERE id = ?`

// revoke sets a record's revocation time to the earlier of the stored and at.
const revoke = `UPDATE records SET
	revoked_at = CASE WHEN revoked_at IS NULL OR ?1 < revoked_at THEN ?1 ELSE revoked_at END,
	changed_seq = ?2 WHERE id = ?3`

// project updates the projections for a non-record event.
func (w *writer) project(ev *credo.Event) error {
	var err error
	switch ev.Type {
	case credo.EventRecordRevoked:
		if _, err = w.exec(revoke, utcText(ev.Change.At), ev.Seq, ev.Change.RecordID); err == nil {
			_, err = w.exec(recordStatus, ev.Change.RecordID)
		}
	case credo.EventRecordFulfilled:
		if _, err = w.exec("UPDATE records SET fulfilled_at = COALESCE(fulfilled_at, ?), changed_seq = ? WHERE id = ?",
			utcText(ev.Change.At), ev.Seq, ev.Change.RecordID); err == nil {
			_, err = w.exec(recordStatus, ev.Change.RecordID)
		}
	case credo.EventRepairApproved:
		if _, err = w.exec("UPDATE records SET repaired_at = COALESCE(repaired_at, ?), changed_seq = ? WHERE id = ?",
			utcText(ev.Change.At), ev.Seq, ev.Change.RecordID); err == nil {
			_, err = w.exec(recordStatus, ev.Change.RecordID)
		}
	case credo.EventDisputeOpened:
		d := ev.Dispute
		_, err = w.exec("INSERT INTO disputes (id, record_id, subject, opened_at, appeal) VALUES (?, ?, ?, ?, ?)",
			d.ID, d.RecordID, ev.Subject, utcText(d.OpenedAt), d.Appeal)
	case credo.EventDisputeDecided:
		d := ev.Decision
		_, err = w.exec("UPDATE disputes SET decided_at = ?, outcome = ?, decided_seq = ? WHERE id = ?",
			utcText(d.At), d.Outcome, ev.Seq, d.DisputeID)
		if err == nil && (d.Outcome == credo.OutcomeRevoked || d.Outcome == credo.OutcomeCorrected) {
			if _, err = w.exec(revoke, utcText(d.At), ev.Seq, d.RecordID); err == nil {
				_, err = w.exec(recordStatus, d.RecordID)
			}
		}
	case credo.EventLinkAdded:
		l := ev.Link
		_, err = w.exec(`INSERT INTO links (seq, org, person, role, "from", until) VALUES (?, ?, ?, ?, ?, ?)`,
			ev.Seq, l.Org, l.Person, l.Role, utcText(l.From), nullText(utcText(l.Until)))
	case credo.EventLinkRemoved:
		l := ev.Link
		until := l.Until
		if until.IsZero() {
			until = ev.Recorded
		}
		_, err = w.exec(`UPDATE links SET until = ?, until_seq = ?
			WHERE org = ? AND person = ? AND role = ? AND until IS NULL`,
			utcText(until), ev.Seq, l.Org, l.Person, l.Role)
	case credo.EventPolicyPublished:
		p := ev.Policy
		src := p.Source
		if src == nil {
			src = []byte{}
		}
		_, err = w.exec("INSERT INTO policies (hash, name, effective, published, source, seq) VALUES (?, ?, ?, ?, ?, ?)",
			p.Hash, p.Name, utcText(p.Effective), utcText(p.Published), src, ev.Seq)
	case credo.EventNoticeIssued:
		err = w.projectNotice(ev)
	}
	if err == nil {
		err = w.enqueue(ev) // the outbox, in the event's transaction
	}
	if err == nil {
		err = w.projectDueProcess(ev)
	}
	return err
}
