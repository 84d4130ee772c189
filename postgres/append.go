package postgres

import (
	"context"
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
		field := storecore.EventField(len(evs), i)
		if err := storecore.ValidateEvent(ev, field); err != nil {
			return nil, err
		}
		if err := validateText(ev, field); err != nil {
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

// validateText checks the strings of an event that go into text columns
// (PostgreSQL refuses invalid UTF-8 and NUL in them).
func validateText(ev *credo.Event, field func(string) string) error {
	check := func(name, v string) error {
		if !pgText(v) {
			return credo.FieldErrorf(field(name), "must be valid UTF-8 without NUL characters")
		}
		return nil
	}
	if err := check("subject", ev.Subject); err != nil {
		return err
	}
	if l := ev.Link; l != nil {
		for _, f := range [][2]string{{"link.org", l.Org}, {"link.person", l.Person}, {"link.role", l.Role}} {
			if err := check(f[0], f[1]); err != nil {
				return err
			}
		}
	}
	if p := ev.Policy; p != nil {
		if err := check("policy.name", p.Name); err != nil {
			return err
		}
	}
	if d := ev.Decision; d != nil {
		if err := check("decision.outcome", d.Outcome); err != nil {
			return err
		}
	}
	return nil
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
			return nil, err
		}
		w.queue(`INSERT INTO events (seq, type, subject, recorded, body, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			ev.Seq, string(ev.Type), ev.Subject, ev.Recorded, body, storecore.RawHash(ev.PrevHash), storecore.RawHash(ev.Hash))
		for _, c := range storecore.Concerned(ev) {
			w.queue("INSERT INTO subject_events (subject, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING", c.Subject, ev.Seq)
			subjects.Add(c.Subject, ev.Seq, c.Kind)
		}
		w.project(ev)
		w.queueEventFacts(ev)
		out[i] = ev
	}
	w.upsertSubjects(subjects)
	w.flushTree()
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
		var outcome *string
		err := w.queryRow("SELECT record_id, outcome FROM disputes WHERE id = $1", d.DisputeID).Scan(&recordID, &outcome)
		if isNoRows(err) {
			return nil, &credo.Error{Code: credo.ENOTFOUND, Op: "postgres.Append", Field: field("decision.dispute_id"),
				Message: fmt.Sprintf("dispute %d not found", d.DisputeID)}
		}
		if err != nil {
			return nil, internal("Append", err)
		}
		if outcome != nil {
			return nil, &credo.Error{Code: credo.ECONFLICT, Op: "postgres.Append", Field: field("decision.dispute_id"),
				Message: fmt.Sprintf("dispute %d is already decided (%s)", d.DisputeID, *outcome)}
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
		var body []byte
		var hash storecore.HashScan
		err := w.queryRow("SELECT e.body, e.hash FROM policies p JOIN events e ON e.seq = p.seq WHERE p.hash = $1", p.Hash).Scan(&body, &hash)
		if isNoRows(err) {
			return nil, nil
		}
		if err != nil {
			return nil, internal("Append", err)
		}
		return storecore.DecodeEvent(body, hash.Hex)
	}
	return nil, nil
}

// checkRecord checks that record id exists and fills in (or checks) the
// event's subject with the record's.
func (w *writer) checkRecord(ev *credo.Event, id int64, idField string, field func(string) string) error {
	var subject string
	err := w.queryRow("SELECT subject FROM records WHERE id = $1", id).Scan(&subject)
	if isNoRows(err) {
		return &credo.Error{Code: credo.ENOTFOUND, Op: "postgres.Append", Field: idField,
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
	WHERE id = $1`

// revoke sets a record's revocation time to the earlier of the stored and at.
const revoke = `UPDATE records SET revoked_at = least(revoked_at, $1::timestamptz), changed_seq = $2 WHERE id = $3`

// project queues the projection writes of a non-record event.
func (w *writer) project(ev *credo.Event) {
	switch ev.Type {
	case credo.EventRecordRevoked:
		w.queue(revoke, ev.Change.At, ev.Seq, ev.Change.RecordID)
		w.queue(recordStatus, ev.Change.RecordID)
	case credo.EventRecordFulfilled:
		w.queue("UPDATE records SET fulfilled_at = COALESCE(fulfilled_at, $1), changed_seq = $2 WHERE id = $3",
			ev.Change.At, ev.Seq, ev.Change.RecordID)
		w.queue(recordStatus, ev.Change.RecordID)
	case credo.EventRepairApproved:
		w.queue("UPDATE records SET repaired_at = COALESCE(repaired_at, $1), changed_seq = $2 WHERE id = $3",
			ev.Change.At, ev.Seq, ev.Change.RecordID)
		w.queue(recordStatus, ev.Change.RecordID)
	case credo.EventDisputeOpened:
		d := ev.Dispute
		w.queue("INSERT INTO disputes (id, record_id, subject, opened_at, appeal) VALUES ($1, $2, $3, $4, $5)",
			d.ID, d.RecordID, ev.Subject, d.OpenedAt, d.Appeal)
	case credo.EventDisputeDecided:
		d := ev.Decision
		w.queue("UPDATE disputes SET decided_at = $1, outcome = $2, decided_seq = $3 WHERE id = $4",
			d.At, d.Outcome, ev.Seq, d.DisputeID)
		if d.Outcome == credo.OutcomeRevoked || d.Outcome == credo.OutcomeCorrected {
			w.queue(revoke, d.At, ev.Seq, d.RecordID)
			w.queue(recordStatus, d.RecordID)
		}
	case credo.EventLinkAdded:
		l := ev.Link
		w.queue(`INSERT INTO links (seq, org, person, role, "from", until) VALUES ($1, $2, $3, $4, $5, $6)`,
			ev.Seq, l.Org, l.Person, l.Role, l.From, nullTime(l.Until))
	case credo.EventLinkRemoved:
		l := ev.Link
		until := l.Until
		if until.IsZero() {
			until = ev.Recorded
		}
		w.queue(`UPDATE links SET until = $1, until_seq = $2
			WHERE org = $3 AND person = $4 AND role = $5 AND until IS NULL`,
			until, ev.Seq, l.Org, l.Person, l.Role)
	case credo.EventPolicyPublished:
		p := ev.Policy
		src := p.Source
		if src == nil {
			src = []byte{}
		}
		w.queue("INSERT INTO policies (hash, name, effective, published, source, seq) VALUES ($1, $2, $3, $4, $5, $6)",
			p.Hash, p.Name, p.Effective, p.Published, src, ev.Seq)
	case credo.EventNoticeIssued:
		w.queue("INSERT INTO notices (record_id, seq, subject) VALUES ($1, $2, $3)", ev.Notice.RecordID, ev.Seq, ev.Subject)
	}
	w.enqueue(ev) // the outbox, in the event's transaction
	w.projectDueProcess(ev)
}
