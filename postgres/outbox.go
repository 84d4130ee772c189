package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"credo"
	"credo/internal/storecore"
)

// Notices and the outbox, as in package sqlite.
//
// A notice.issued event is projected into notices (one row per record, so
// a record never gets two notices: appending a second is a no-op that
// returns the first) in the event's own transaction. Every event appended
// through Append is also queued, in that same transaction, for each active
// webhook subscribed to its type: the outbox rows are as durable as the
// event, and a delivery worker drains them (package outbox). Workers on
// several nodes may drain one outbox: a claim is an UPDATE ... FOR UPDATE
// SKIP LOCKED, so no two claim the same delivery.

var (
	_ credo.Outbox      = (*DB)(nil)
	_ credo.NoticeStore = (*DB)(nil)
)

// prepareNotice checks a notice against the stored state: its record
// exists and concerns the event's subject. If the record already has a
// notice it returns that notice's event (appending is then a no-op).
func (w *writer) prepareNotice(ev *credo.Event, field func(string) string) (*credo.Event, error) {
	n := ev.Notice
	var subject string
	var body []byte
	var hash storecore.HashScan
	err := w.queryRow(`SELECT r.subject, e.body, e.hash FROM records r
		LEFT JOIN notices n ON n.record_id = r.id LEFT JOIN events e ON e.seq = n.seq
		WHERE r.id = $1`, n.RecordID).Scan(&subject, &body, &hash)
	if isNoRows(err) {
		return nil, &credo.Error{Code: credo.ENOTFOUND, Op: "postgres.Append", Field: field("notice.record_id"),
			Message: fmt.Sprintf("record %d not found", n.RecordID)}
	}
	if err != nil {
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
	if !hash.Valid {
		return nil, nil
	}
	return storecore.DecodeEvent(body, hash.Hex)
}

// enqueue queues an appended event for every active webhook subscribed to
// its type, in the event's transaction.
func (w *writer) enqueue(ev *credo.Event) {
	w.queue(`INSERT INTO outbox (event_seq, webhook_id, next_at, created)
		SELECT $1, id, $2, $2 FROM webhooks
		WHERE removed IS NULL AND $3 = ANY(events)
		ON CONFLICT DO NOTHING`, ev.Seq, ev.Recorded, string(ev.Type))
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
	wh.Created = wh.Created.Truncate(time.Microsecond)
	events := make([]string, len(wh.Events))
	for i, e := range wh.Events {
		events[i] = string(e)
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO webhooks (id, url, secret, events, created) VALUES ($1, $2, $3, $4, $5)`,
		wh.ID, wh.URL, wh.Secret, events, wh.Created)
	if isUnique(err) {
		return credo.Errorf(credo.ECONFLICT, "webhook %s already exists", wh.ID)
	}
	return internal("AddWebhook", err)
}

// Webhooks returns every endpoint, removed ones too, oldest first.
func (db *DB) Webhooks(ctx context.Context) ([]*credo.Webhook, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, url, secret, events, created, removed FROM webhooks ORDER BY created, id`)
	if err != nil {
		return nil, internal("Webhooks", err)
	}
	defer rows.Close()
	out := []*credo.Webhook{}
	for rows.Next() {
		var wh credo.Webhook
		var events []string
		var removed *time.Time
		if err := rows.Scan(&wh.ID, &wh.URL, &wh.Secret, &events, &wh.Created, &removed); err != nil {
			return nil, internal("Webhooks", err)
		}
		for _, e := range events {
			wh.Events = append(wh.Events, credo.EventType(e))
		}
		wh.Created = wh.Created.UTC()
		if removed != nil {
			wh.Removed = removed.UTC()
		}
		out = append(out, &wh)
	}
	return out, internal("Webhooks", rows.Err())
}

// RemoveWebhook stops deliveries to an endpoint from at and cancels its
// pending deliveries, in one transaction. It takes the log lock, so that
// no append commits a delivery to the endpoint after it.
func (db *DB) RemoveWebhook(ctx context.Context, id string, at time.Time) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return internal("RemoveWebhook", err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SELECT 1 FROM log_head WHERE id = 1 FOR UPDATE"); err != nil {
		return internal("RemoveWebhook", err)
	}
	tag, err := tx.Exec(ctx, `UPDATE webhooks SET removed = $1 WHERE id = $2 AND removed IS NULL`, at, id)
	if err != nil {
		return internal("RemoveWebhook", err)
	}
	if tag.RowsAffected() == 0 {
		return credo.Errorf(credo.ENOTFOUND, "no active webhook %s", id)
	}
	if _, err := tx.Exec(ctx, `UPDATE outbox SET status = 'cancelled', last_error = 'webhook removed'
		WHERE webhook_id = $1 AND status = 'pending'`, id); err != nil {
		return internal("RemoveWebhook", err)
	}
	return internal("RemoveWebhook", tx.Commit(ctx))
}

// ClaimDeliveries leases up to limit due deliveries to the caller.
func (db *DB) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*credo.Delivery, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.pool.Query(ctx, `WITH claimed AS (
			UPDATE outbox SET next_at = $1
			WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_at <= $2
				ORDER BY next_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
			RETURNING *)
		`+deliverySelect(true, "claimed")+` ORDER BY o.id`, now.Add(lease), now, limit)
	if err != nil {
		return nil, internal("ClaimDeliveries", err)
	}
	out, err := scanDeliveries(rows, true)
	if len(out) == 0 {
		out = nil
	}
	return out, internal("ClaimDeliveries", err)
}

// deliverySelect selects deliveries from table (outbox, or the claimed
// rows) with their webhook (and, for the worker, the secret and the event).
func deliverySelect(full bool, table string) string {
	extra := ", ''::text, NULL::bytea, ''::bytea"
	if full {
		extra = ", w.secret, e.body, e.hash"
	}
	return `SELECT o.id, o.event_seq, e.type, e.subject, o.webhook_id, w.url, o.status, o.attempts, o.next_at,
		o.last_error, o.created, o.delivered` + extra + `
		FROM ` + table + ` o JOIN webhooks w ON w.id = o.webhook_id JOIN events e ON e.seq = o.event_seq`
}

func scanDeliveries(rows pgx.Rows, full bool) ([]*credo.Delivery, error) {
	defer rows.Close()
	out := []*credo.Delivery{}
	for rows.Next() {
		var d credo.Delivery
		var typ string
		var nextAt time.Time
		var delivered *time.Time
		var body []byte
		var hash storecore.HashScan
		if err := rows.Scan(&d.ID, &d.EventSeq, &typ, &d.Subject, &d.WebhookID, &d.URL, &d.Status, &d.Attempts, &nextAt,
			&d.LastError, &d.Created, &delivered, &d.Secret, &body, &hash); err != nil {
			return nil, err
		}
		d.EventType = credo.EventType(typ)
		d.Created = d.Created.UTC()
		if d.Status == credo.DeliveryPending {
			d.NextAt = nextAt.UTC()
		}
		if delivered != nil {
			d.Delivered = delivered.UTC()
		}
		if full {
			ev, err := storecore.DecodeEvent(body, hash.Hex)
			if err != nil {
				return nil, err
			}
			if d.Body, err = json.Marshal(ev); err != nil {
				return nil, fmt.Errorf("encoding event %d: %w", ev.Seq, err)
			}
		}
		out = append(out, &d)
	}
	return out, rows.Err()
}

// DeliverySucceeded marks a pending delivery delivered.
func (db *DB) DeliverySucceeded(ctx context.Context, id int64, attempt int, at time.Time) (bool, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE outbox SET status = 'delivered', attempts = $1, delivered = $2, last_error = ''
		WHERE id = $3 AND status = 'pending'`, attempt, at, id)
	if err != nil {
		return false, internal("DeliverySucceeded", err)
	}
	return tag.RowsAffected() == 1, nil
}

// DeliveryFailed records a failed attempt.
func (db *DB) DeliveryFailed(ctx context.Context, id int64, attempt int, errMsg string, next time.Time, dead bool) error {
	status := credo.DeliveryPending
	if dead {
		status = credo.DeliveryDead
	}
	if len(errMsg) > 1000 {
		errMsg = strings.ToValidUTF8(errMsg[:1000], "")
	}
	_, err := db.pool.Exec(ctx, `UPDATE outbox SET status = $1, attempts = $2, last_error = $3, next_at = $4
		WHERE id = $5 AND status = 'pending'`, status, attempt, errMsg, next, id)
	return internal("DeliveryFailed", err)
}

// Deliveries returns deliveries with a status ("" for any), newest first.
func (db *DB) Deliveries(ctx context.Context, status string, limit int) ([]*credo.Delivery, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.pool.Query(ctx, deliverySelect(false, "outbox")+` WHERE $1 = '' OR o.status = $1 ORDER BY o.id DESC LIMIT $2`, status, limit)
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
	var status string
	var removed *time.Time
	err := db.pool.QueryRow(ctx, `SELECT o.status, w.removed FROM outbox o JOIN webhooks w ON w.id = o.webhook_id WHERE o.id = $1`, id).Scan(&status, &removed)
	if isNoRows(err) {
		return credo.Errorf(credo.ENOTFOUND, "no delivery %d", id)
	}
	if err != nil {
		return internal("RetryDelivery", err)
	}
	switch {
	case removed != nil:
		return credo.Errorf(credo.ECONFLICT, "delivery %d: its webhook was removed", id)
	case status != credo.DeliveryDead && status != credo.DeliveryCancelled:
		return credo.Errorf(credo.ECONFLICT, "delivery %d is %s, not dead", id, status)
	}
	_, err = db.pool.Exec(ctx, `UPDATE outbox SET status = 'pending', attempts = 0, next_at = $1 WHERE id = $2 AND status = $3`,
		at, id, status)
	return internal("RetryDelivery", err)
}

// OutboxCounts returns the number of pending and dead deliveries.
func (db *DB) OutboxCounts(ctx context.Context) (pending, dead int64, err error) {
	err = db.pool.QueryRow(ctx, `SELECT
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
	// assigned in commit order, under the log lock.
	var hi *int64
	if err := db.pool.QueryRow(ctx, `SELECT max(id) FROM records`).Scan(&hi); err != nil {
		return nil, after, internal("RecordsWithoutNotice", err)
	}
	if hi == nil || *hi <= after {
		return nil, after, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT e.body FROM records r JOIN events e ON e.seq = r.id
		WHERE r.id > $1 AND r.id <= $2 AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.record_id = r.id)
		ORDER BY r.id LIMIT $3`, after, *hi, limit)
	if err != nil {
		return nil, after, internal("RecordsWithoutNotice", err)
	}
	defer rows.Close()
	var out []*credo.Record
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
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
	examined := *hi
	if len(out) == limit {
		examined = out[len(out)-1].ID
	}
	return out, examined, nil
}

// NoticeSweepCursor returns where the sweeper of missing notices resumes.
func (db *DB) NoticeSweepCursor(ctx context.Context) (int64, error) {
	var after int64
	err := db.pool.QueryRow(ctx, `SELECT after FROM notice_sweep WHERE id = 1`).Scan(&after)
	if isNoRows(err) {
		return 0, nil
	}
	return after, internal("NoticeSweepCursor", err)
}

// SetNoticeSweepCursor advances the sweeper's cursor.
func (db *DB) SetNoticeSweepCursor(ctx context.Context, after int64) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO notice_sweep (id, after) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET after = greatest(notice_sweep.after, excluded.after)`, after)
	return internal("SetNoticeSweepCursor", err)
}
