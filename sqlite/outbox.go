package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"credo"
	"credo/internal/storecore"
)

// Notices and the outbox.
//
// A notice.issued event is projected into notices (one row per record, so
// a record never gets two notices: appending a second is a no-op that
// returns the first) in the event's own transaction. Every event appended
// through Append is also queued, in that same transaction, for each active
// webhook subscribed to its type: the outbox rows are as durable as the
// event, and a delivery worker drains them (package outbox). Webhooks and
// the delivery bookkeeping are operational data, written through the ops
// connection like tokens.

var (
	_ credo.Outbox      = (*DB)(nil)
	_ credo.NoticeStore = (*DB)(nil)
)

// prepareNotice checks a notice against the stored state: its record
// exists and concerns the event's subject. If the record already has a
// notice it returns that notice's event (appending is then a no-op).
func (w *writer) prepareNotice(ev *credo.Event, field func(string) string) (*credo.Event, error) {
	n := ev.Notice
	subject, err := w.recordSubject(n.RecordID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &credo.Error{Code: credo.ENOTFOUND, Op: "sqlite.Append", Field: field("notice.record_id"),
			Message: fmt.Sprintf("record %d not found", n.RecordID)}
	}
	if err != nil {
		return nil, internal("Append", err)
	}
	var seq sql.NullInt64
	if err := w.queryRow("SELECT seq FROM notices WHERE record_id = ?", n.RecordID).Scan(&seq); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, internal("Append", err)
	}
	if ev.Subject == "" {
		ev.Subject = subject
	} else if ev.Subject != subject {
		return nil, credo.FieldErrorf(field("subject"), "record %d concerns %s, not %s", n.RecordID, subject, ev.Subject)
	}
	if n.Subject == "" {
		n.Subject = subject
	} else if n.Subject != subject {
		return nil, credo.FieldErrorf(field("notice.subject"), "record %d concerns %s, not %s", n.RecordID, subject, n.Subject)
	}
	if !seq.Valid {
		return nil, nil
	}
	var body []byte
	var hash storecore.HashScan
	if err := w.queryRow("SELECT body, hash FROM events WHERE seq = ?", seq.Int64).Scan(&body, &hash); err != nil {
		return nil, internal("Append", err)
	}
	return storecore.DecodeEvent(body, hash.Hex)
}

// projectNotice writes the notices row of a notice.issued event.
func (w *writer) projectNotice(ev *credo.Event) error {
	_, err := w.exec("INSERT INTO notices (record_id, seq, subject) VALUES (?, ?, ?)", ev.Notice.RecordID, ev.Seq, ev.Subject)
	return err
}

// enqueue queues an appended event for every active webhook subscribed to
// its type, in the event's transaction.
func (w *writer) enqueue(ev *credo.Event) error {
	at := utcText(ev.Recorded)
	_, err := w.exec(`INSERT INTO outbox (event_seq, webhook_id, next_at, created)
		SELECT ?1, id, ?2, ?2 FROM webhooks
		WHERE removed IS NULL AND instr(',' || events || ',', ',' || ?3 || ',') > 0
		ON CONFLICT DO NOTHING`, ev.Seq, at, string(ev.Type))
	return err
}

// DeliverableEvents are the event types a webhook may subscribe to: those
// appended through Append (record.filed events are not queued; subscribe to
// notice.issued, which every record with an effect gets).
var DeliverableEvents = []credo.EventType{
	credo.EventNoticeIssued,
	credo.EventRecordRevoked, credo.EventRecordFulfilled, credo.EventRepairApproved,
	credo.EventDisputeOpened, credo.EventDisputeDecided,
	credo.EventConsentGiven, credo.EventConsentWithdrawn,
	credo.EventLinkAdded, credo.EventLinkRemoved, credo.EventPolicyPublished,
}

// AddWebhook stores a new endpoint. The URL must be absolute http or
// https; events defaults to notice.issued; a missing secret is generated
// (the caller shows it once).
func (db *DB) AddWebhook(ctx context.Context, wh *credo.Webhook) error {
	o, err := db.ops()
	if err != nil {
		return internal("AddWebhook", err)
	}
	u, err := url.Parse(wh.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return credo.FieldErrorf("url", "%q is not an absolute http or https URL", wh.URL)
	}
	if len(wh.Events) == 0 {
		wh.Events = []credo.EventType{credo.EventNoticeIssued}
	}
	for _, e := range wh.Events {
		if !slices.Contains(DeliverableEvents, e) {
			return credo.FieldErrorf("events", "%q cannot be delivered (deliverable: %s)", e, storecore.JoinTypes(DeliverableEvents))
		}
	}
	if wh.Secret == "" {
		wh.Secret = "whsec_" + storecore.RandomHex(24)
	}
	if len(wh.Secret) < 16 {
		return credo.FieldErrorf("secret", "must be at least 16 characters")
	}
	if wh.ID == "" {
		wh.ID = "wh_" + storecore.RandomHex(6)
	}
	if wh.Created.IsZero() {
		wh.Created = db.opts.Now()
	}
	_, err = o.ExecContext(ctx, `INSERT INTO webhooks (id, url, secret, events, created) VALUES (?, ?, ?, ?, ?)`,
		wh.ID, wh.URL, wh.Secret, storecore.JoinTypes(wh.Events), utcText(wh.Created))
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return credo.Errorf(credo.ECONFLICT, "webhook %s already exists", wh.ID)
	}
	return internal("AddWebhook", err)
}

// Webhooks returns every endpoint, removed ones too, oldest first.
func (db *DB) Webhooks(ctx context.Context) ([]*credo.Webhook, error) {
	rows, err := db.rdb.QueryContext(ctx, `SELECT id, url, secret, events, created, removed FROM webhooks ORDER BY created, id`)
	if err != nil {
		return nil, internal("Webhooks", err)
	}
	defer rows.Close()
	out := []*credo.Webhook{}
	for rows.Next() {
		var wh credo.Webhook
		var events, created string
		var removed sql.NullString
		if err := rows.Scan(&wh.ID, &wh.URL, &wh.Secret, &events, &created, &removed); err != nil {
			return nil, internal("Webhooks", err)
		}
		for _, e := range strings.Split(events, ",") {
			if e != "" {
				wh.Events = append(wh.Events, credo.EventType(e))
			}
		}
		wh.Created = parseUTC(created)
		if removed.Valid {
			wh.Removed = parseUTC(removed.String)
		}
		out = append(out, &wh)
	}
	return out, internal("Webhooks", rows.Err())
}

// RemoveWebhook stops deliveries to an endpoint from at and cancels its
// pending deliveries, in one transaction.
func (db *DB) RemoveWebhook(ctx context.Context, id string, at time.Time) error {
	o, err := db.ops()
	if err != nil {
		return internal("RemoveWebhook", err)
	}
	tx, err := o.BeginTx(ctx, nil)
	if err != nil {
		return internal("RemoveWebhook", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE webhooks SET removed = ? WHERE id = ? AND removed IS NULL`, utcText(at), id)
	if err != nil {
		return internal("RemoveWebhook", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return credo.Errorf(credo.ENOTFOUND, "no active webhook %s", id)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE outbox SET status = 'cancelled', last_error = 'webhook removed'
		WHERE webhook_id = ? AND status = 'pending'`, id); err != nil {
		return internal("RemoveWebhook", err)
	}
	return internal("RemoveWebhook", tx.Commit())
}

// ClaimDeliveries leases up to limit due deliveries to the caller.
func (db *DB) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*credo.Delivery, error) {
	o, err := db.ops()
	if err != nil {
		return nil, internal("ClaimDeliveries", err)
	}
	if limit <= 0 {
		limit = 100
	}
	tx, err := o.BeginTx(ctx, nil)
	if err != nil {
		return nil, internal("ClaimDeliveries", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `UPDATE outbox SET next_at = ?1
		WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_at <= ?2 ORDER BY next_at, id LIMIT ?3)
		RETURNING id`, utcText(now.Add(lease)), utcText(now), limit)
	if err != nil {
		return nil, internal("ClaimDeliveries", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, internal("ClaimDeliveries", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return nil, internal("ClaimDeliveries", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(ids)
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err = tx.QueryContext(ctx, deliveryQuery(true)+` WHERE o.id IN (?`+strings.Repeat(",?", len(ids)-1)+`) ORDER BY o.id`, args...)
	if err != nil {
		return nil, internal("ClaimDeliveries", err)
	}
	out, err := scanDeliveries(rows, true)
	if err != nil {
		return nil, internal("ClaimDeliveries", err)
	}
	return out, internal("ClaimDeliveries", tx.Commit())
}

// deliveryQuery selects deliveries with their webhook (and, for the
// worker, the secret and the event). The event's body is read, when not
// for the worker, only for a compact row, whose subject is in its body
// (writer.go).
func deliveryQuery(full bool) string {
	extra := ", '', CASE WHEN e.subject = '' THEN e.body END, X''"
	if full {
		extra = ", w.secret, e.body, e.hash"
	}
	return `SELECT o.id, o.event_seq, e.type, e.subject, o.webhook_id, w.url, o.status, o.attempts, o.next_at,
		o.last_error, o.created, o.delivered` + extra + `
		FROM outbox o JOIN webhooks w ON w.id = o.webhook_id JOIN events e ON e.seq = o.event_seq`
}

func scanDeliveries(rows *sql.Rows, full bool) ([]*credo.Delivery, error) {
	defer rows.Close()
	out := []*credo.Delivery{}
	for rows.Next() {
		var d credo.Delivery
		var typ, nextAt, created string
		var delivered sql.NullString
		var body []byte
		var hash storecore.HashScan
		if err := rows.Scan(&d.ID, &d.EventSeq, &typ, &d.Subject, &d.WebhookID, &d.URL, &d.Status, &d.Attempts, &nextAt,
			&d.LastError, &created, &delivered, &d.Secret, &body, &hash); err != nil {
			return nil, err
		}
		d.EventType = storecore.ColumnType(typ)
		d.Created = parseUTC(created)
		if d.Status == credo.DeliveryPending {
			d.NextAt = parseUTC(nextAt)
		}
		if delivered.Valid {
			d.Delivered = parseUTC(delivered.String)
		}
		if full {
			ev, err := storecore.DecodeEvent(body, hash.Hex)
			if err != nil {
				return nil, err
			}
			if d.Body, err = json.Marshal(ev); err != nil {
				return nil, fmt.Errorf("encoding event %d: %w", ev.Seq, err)
			}
			d.Subject = ev.Subject
		} else if d.Subject == "" && body != nil {
			s, err := storecore.BodySubject(body)
			if err != nil {
				return nil, err
			}
			d.Subject = s
		}
		out = append(out, &d)
	}
	return out, rows.Err()
}

// DeliverySucceeded marks a pending delivery delivered.
func (db *DB) DeliverySucceeded(ctx context.Context, id int64, attempt int, at time.Time) (bool, error) {
	o, err := db.ops()
	if err != nil {
		return false, internal("DeliverySucceeded", err)
	}
	res, err := o.ExecContext(ctx, `UPDATE outbox SET status = 'delivered', attempts = ?, delivered = ?, last_error = ''
		WHERE id = ? AND status = 'pending'`, attempt, utcText(at), id)
	if err != nil {
		return false, internal("DeliverySucceeded", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DeliveryFailed records a failed attempt.
func (db *DB) DeliveryFailed(ctx context.Context, id int64, attempt int, errMsg string, next time.Time, dead bool) error {
	o, err := db.ops()
	if err != nil {
		return internal("DeliveryFailed", err)
	}
	status := credo.DeliveryPending
	if dead {
		status = credo.DeliveryDead
	}
	if len(errMsg) > 1000 {
		errMsg = errMsg[:1000]
	}
	_, err = o.ExecContext(ctx, `UPDATE outbox SET status = ?, attempts = ?, last_error = ?, next_at = ?
		WHERE id = ? AND status = 'pending'`, status, attempt, errMsg, utcText(next), id)
	return internal("DeliveryFailed", err)
}

// Deliveries returns deliveries with a status ("" for any), newest first.
func (db *DB) Deliveries(ctx context.Context, status string, limit int) ([]*credo.Delivery, error) {
	if limit <= 0 {
		limit = 1000
	}
	q := deliveryQuery(false)
	var args []any
	if status != "" {
		q += ` WHERE o.status = ?`
		args = append(args, status)
	}
	rows, err := db.rdb.QueryContext(ctx, q+` ORDER BY o.id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, internal("Deliveries", err)
	}
	out, err := scanDeliveries(rows, false)
	return out, internal("Deliveries", err)
}

// RetryDelivery requeues a dead or cancelled delivery, due at at, with
// its attempts counted from zero. A delivery of a removed webhook cannot
// be retried.
func (db *DB) RetryDelivery(ctx context.Context, id int64, at time.Time) error {
	o, err := db.ops()
	if err != nil {
		return internal("RetryDelivery", err)
	}
	var status string
	var removed sql.NullString
	err = o.QueryRowContext(ctx, `SELECT o.status, w.removed FROM outbox o JOIN webhooks w ON w.id = o.webhook_id WHERE o.id = ?`, id).Scan(&status, &removed)
	if errors.Is(err, sql.ErrNoRows) {
		return credo.Errorf(credo.ENOTFOUND, "no delivery %d", id)
	}
	if err != nil {
		return internal("RetryDelivery", err)
	}
	switch {
	case removed.Valid:
		return credo.Errorf(credo.ECONFLICT, "delivery %d: its webhook was removed", id)
	case status != credo.DeliveryDead && status != credo.DeliveryCancelled:
		return credo.Errorf(credo.ECONFLICT, "delivery %d is %s, not dead", id, status)
	}
	_, err = o.ExecContext(ctx, `UPDATE outbox SET status = 'pending', attempts = 0, next_at = ? WHERE id = ? AND status = ?`,
		utcText(at), id, status)
	return internal("RetryDelivery", err)
}

// OutboxCounts returns the number of pending and dead deliveries.
func (db *DB) OutboxCounts(ctx context.Context) (pending, dead int64, err error) {
	err = db.rdb.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM outbox WHERE status = 'pending'),
		(SELECT count(*) FROM outbox WHERE status = 'dead')`).Scan(&pending, &dead)
	return pending, dead, internal("OutboxCounts", err)
}

// RecordsWithoutNotice returns records with ID > after that have no
// notice, in ID order.
func (db *DB) RecordsWithoutNotice(ctx context.Context, after int64, limit int) ([]*credo.Record, int64, error) {
	if limit <= 0 {
		limit = 1000
	}
	// Every record up to the highest id seen now is committed: ids are
	// assigned in commit order by the one writer.
	var hi sql.NullInt64
	if err := db.rdb.QueryRowContext(ctx, `SELECT max(id) FROM records`).Scan(&hi); err != nil {
		return nil, after, internal("RecordsWithoutNotice", err)
	}
	if !hi.Valid || hi.Int64 <= after {
		return nil, after, nil
	}
	rows, err := db.rdb.QueryContext(ctx, `SELECT e.body, e.hash FROM records r JOIN events e ON e.seq = r.id
		WHERE r.id > ? AND r.id <= ? AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.record_id = r.id)
		ORDER BY r.id LIMIT ?`, after, hi.Int64, limit)
	if err != nil {
		return nil, after, internal("RecordsWithoutNotice", err)
	}
	defer rows.Close()
	var out []*credo.Record
	for rows.Next() {
		var body []byte
		var hash storecore.HashScan
		if err := rows.Scan(&body, &hash); err != nil {
			return nil, after, internal("RecordsWithoutNotice", err)
		}
		r, err := storecore.DecodeRecord(body)
		if err != nil {
			return nil, after, internal("RecordsWithoutNotice", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, after, internal("RecordsWithoutNotice", err)
	}
	examined := hi.Int64
	if len(out) == limit {
		examined = out[len(out)-1].ID
	}
	return out, examined, nil
}

// NoticeSweepCursor returns where the sweeper of missing notices resumes.
func (db *DB) NoticeSweepCursor(ctx context.Context) (int64, error) {
	var after int64
	err := db.rdb.QueryRowContext(ctx, `SELECT after FROM notice_sweep WHERE id = 1`).Scan(&after)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return after, internal("NoticeSweepCursor", err)
}

// SetNoticeSweepCursor advances the sweeper's cursor.
func (db *DB) SetNoticeSweepCursor(ctx context.Context, after int64) error {
	o, err := db.ops()
	if err != nil {
		return internal("SetNoticeSweepCursor", err)
	}
	_, err = o.ExecContext(ctx, `INSERT INTO notice_sweep (id, after) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET after = max(after, excluded.after)`, after)
	return internal("SetNoticeSweepCursor", err)
}

// parseUTC parses a projection time column.
func parseUTC(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
